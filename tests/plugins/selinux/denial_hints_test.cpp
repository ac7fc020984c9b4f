#include "denial_hints.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::selinux;

TEST_CASE("allow_rule in audit2allow syntax") {
  CHECK(allow_rule("postgresql_t", "default_t", "dir", {"write"}) ==
        "allow postgresql_t default_t:dir write;");
  CHECK(allow_rule("rsync_t", "user_home_t", "file", {"read", "open"}) ==
        "allow rsync_t user_home_t:file { open read };");
}

TEST_CASE("relabel_root: the directory itself, or the parent of anything else") {
  CHECK(relabel_root("/opt/backups/database/x.sql.gz", "file") == "/opt/backups/database");
  CHECK(relabel_root("/opt/backups/database", "dir") == "/opt/backups/database");
  CHECK(relabel_root("/x", "file") == "/");
  CHECK(relabel_root("database", "dir").empty());
}

TEST_CASE("policy_hint: a generic target type asks for a relabel with the domain's data type") {
  auto h = policy_hint("postgresql_t", "default_t", "dir", {"add_name", "write"},
                       "/opt/backups/database");
  CHECK(h.find("semanage fcontext -a -t postgresql_db_t '/opt/backups/database(/.*)?'") !=
        std::string::npos);
  CHECK(h.find("restorecon -Rv /opt/backups/database") != std::string::npos);
  auto unknown = policy_hint("backup_script_t", "tmp_t", "file", {"write"}, "/tmp/x/y.tar");
  CHECK(unknown.find("<type>") != std::string::npos);
  CHECK(unknown.find("sesearch -A -s backup_script_t -c file -p write") != std::string::npos);
}

TEST_CASE("policy_hint: a specific target type gets the allow rule and the boolean advice") {
  auto h = policy_hint("rsync_t", "shadow_t", "file", {"read"}, "/etc/shadow");
  CHECK(h.find("allow rsync_t shadow_t:file read;") != std::string::npos);
  CHECK(h.find("getsebool") != std::string::npos);
  // A generic type on a non-file class (a socket) is not a labeling question either.
  auto s = policy_hint("rsync_t", "default_t", "tcp_socket", {"name_connect"}, "");
  CHECK(s.find("allow rsync_t default_t:tcp_socket name_connect;") != std::string::npos);
  CHECK(data_type_for_domain("rsync_t") == "rsync_data_t");
  CHECK(data_type_for_domain("nope_t").empty());
  CHECK(is_generic_file_type("unlabeled_t"));
  CHECK_FALSE(is_generic_file_type("postgresql_db_t"));
}

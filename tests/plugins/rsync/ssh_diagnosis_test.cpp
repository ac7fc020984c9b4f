#include "ssh_diagnosis.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::rsync;

TEST_CASE("ssh error messages are told apart") {
  CHECK(classify_ssh_error("ssh: connect to host 10.0.0.9 port 22: Connection refused\n") ==
        SshFailure::connection_refused);
  CHECK(classify_ssh_error("ssh: connect to host 10.0.0.9 port 22: Connection timed out\n") ==
        SshFailure::timeout);
  CHECK(classify_ssh_error("Connection timed out during banner exchange\n") == SshFailure::timeout);
  CHECK(classify_ssh_error("ssh: Could not resolve hostname nas: Name or service not known\n") ==
        SshFailure::unknown_host);
  CHECK(classify_ssh_error("ssh: connect to host 10.0.0.9 port 22: No route to host\n") ==
        SshFailure::unreachable);
  CHECK(classify_ssh_error("No ED25519 host key is known for nas and you have requested strict "
                           "checking.\r\nHost key verification failed.\r\n") ==
        SshFailure::unknown_host_key);
  CHECK(classify_ssh_error("@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
                           "Host key verification failed.\n") == SshFailure::host_key_changed);
  CHECK(classify_ssh_error("@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @\n"
                           "bad permissions: ignore key: /k\nbackup@nas: Permission denied "
                           "(publickey).\n") == SshFailure::key_permissions);
  CHECK(classify_ssh_error("backup@nas: Permission denied (publickey,password).\n") ==
        SshFailure::auth_failed);
  CHECK(classify_ssh_error("kex_exchange_identification: Connection closed by remote host\n") ==
        SshFailure::connection_closed);
  CHECK(classify_ssh_error("something else entirely\n") == SshFailure::other);
}

TEST_CASE("the excerpt drops known_hosts noise and banner art") {
  auto e = ssh_error_excerpt(
      "Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.\r\n"
      "@@@@@@@@@@@@\nbackup@nas: Permission denied (publickey).\r\n");
  CHECK(e == "backup@nas: Permission denied (publickey).");
}

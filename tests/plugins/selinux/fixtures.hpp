// A fake SELinux host for the selinux tests: a selinuxfs tree, /etc/selinux/config, a
// file_contexts file, and audit log lines written with timestamps relative to now.
#pragma once

#include "selinux_plugin.hpp"
#include "support/temp_dir.hpp"

#include <backup_doctor/testing.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace backup_doctor::selinux::test {

struct FakeSelinux {
  backup_doctor::test::TempDir dir{"bd-selinux"};
  std::string selinuxfs() const { return (dir.path() / "selinuxfs").string(); }
  std::string config() const { return (dir.path() / "etc/selinux/config").string(); }
  std::string file_contexts() const {
    return (dir.path() / "etc/selinux/targeted/contexts/files/file_contexts").string();
  }

  void enable(int enforce = 1, int policyvers = 33) const {
    dir.write("selinuxfs/enforce", std::to_string(enforce));
    dir.write("selinuxfs/policyvers", std::to_string(policyvers));
    dir.write("selinuxfs/deny_unknown", "0");
    dir.write("selinuxfs/mls", "1");
  }
  void write_config(const std::string& mode, const std::string& type = "targeted") const {
    dir.write("etc/selinux/config", "# This file controls the state of SELinux\nSELINUX=" + mode +
                                        "\nSELINUXTYPE=" + type + "\n");
  }
  void write_file_contexts(const std::string& text) const {
    dir.write("etc/selinux/targeted/contexts/files/file_contexts", text);
  }
};

inline double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "msg=audit(1700000000.123:456):" for `ago` seconds before now.
inline std::string stamp(double ago, int serial) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "msg=audit(%.3f:%d):", now() - ago, serial);
  return buf;
}

// A kernel AVC denial as auditd writes it.
inline std::string avc(double ago, int serial, const std::string& perms, const std::string& comm,
                       const std::string& target, const std::string& scontext,
                       const std::string& tcontext, const std::string& tclass,
                       const std::string& permissive = "0") {
  return "type=AVC " + stamp(ago, serial) + " avc:  denied  { " + perms +
         " } for  pid=" + std::to_string(1000 + serial) + " comm=\"" + comm + "\" " + target +
         " dev=\"dm-0\" ino=" + std::to_string(5000 + serial) + " scontext=" + scontext +
         " tcontext=" + tcontext + " tclass=" + tclass +
         (permissive.empty() ? "" : " permissive=" + permissive) + "\n";
}

}  // namespace backup_doctor::selinux::test

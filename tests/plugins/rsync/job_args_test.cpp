#include "job_args.hpp"

#include <doctest/doctest.h>
#include <backup_doctor/sdk.hpp>

#include "support/temp_dir.hpp"

#include <unistd.h>
#include <filesystem>
#include <fstream>

using backup_doctor::rsync::filter_job_args;
using V = std::vector<std::string>;

TEST_CASE("options that change the output or write files are dropped and reported") {
  auto j = filter_job_args({"-avzq", "--delete", "--log-file=/var/log/rsync.log", "--info",
                            "progress2", "--out-format=%n", "--progress", "-P", "--stats"});
  CHECK(j.args == V{"-avz", "--delete"});
  CHECK(j.ignored == V{"-q", "--log-file=/var/log/rsync.log", "--info progress2", "--out-format=%n",
                       "--progress", "-P"});
}

TEST_CASE("option values are kept with their option, never taken for options") {
  auto j = filter_job_args({"-a", "-e", "ssh -p 2222 -q", "--exclude", "-q*", "-Tq", "-essh"});
  CHECK(j.args == V{"-a", "-e", "ssh -p 2222 -q", "--exclude", "-q*", "-Tq", "-essh"});
  CHECK(j.ignored.empty());
}

TEST_CASE("flags the probe needs are recognised") {
  CHECK(filter_job_args({"-aR"}).relative);
  CHECK(filter_job_args({"--relative"}).relative);
  CHECK(filter_job_args({"--mkpath"}).mkpath);
  CHECK_FALSE(filter_job_args({"-a"}).mkpath);
}

// The options refused, as given.
V refused(const backup_doctor::rsync::JobArgs& j) {
  V out;
  for (const auto& r : j.refused) out.push_back(r.option);
  return out;
}

TEST_CASE("options that are not a client job are refused, with the reason") {
  auto j = filter_job_args({"--server", "--sender", "--daemon", "--read-batch=x", "--version"});
  CHECK(refused(j) == V{"--server", "--sender", "--daemon", "--read-batch=x", "--version"});
  CHECK(j.refused[0].why.find("not part of a client job") != std::string::npos);
  CHECK(j.args.empty());
}

TEST_CASE("remote options (-M) follow the same rules as the job's own") {
  auto j = filter_job_args({"-a", "-M--log-file=/x/log", "-M=--fake-super", "--remote-option",
                            "--write-batch=/x/b", "-avM--out-format=%n", "-M--log-file", "-M/y"});
  CHECK(j.args == V{"-a", "-av", "--remote-option=--fake-super"});
  CHECK(j.ignored ==
        V{"-M--log-file=/x/log", "-M--write-batch=/x/b", "-M--out-format=%n", "-M--log-file /y"});
  CHECK(j.refused.empty());
  auto nested = filter_job_args({"-M-M--log-file=/x"});
  CHECK(refused(nested) == V{"-M-M--log-file=/x"});
  auto shell = filter_job_args({"-M-esh -c id"});
  REQUIRE(shell.refused.size() == 1);
  CHECK(shell.refused[0].why.find("as a remote option") != std::string::npos);
}

TEST_CASE("options the check does not know and stray words are refused, never passed on") {
  auto j = filter_job_args({"-a", "--no-such-option", "-Z", "/etc/", "--", "--no-perms", "--no-D"});
  CHECK(refused(j) == V{"--no-such-option", "-Z", "/etc/", "--"});
  CHECK(j.args == V{"-a", "--no-perms", "--no-D"});
  CHECK(j.refused[2].fix.find("'source'") != std::string::npos);
}

TEST_CASE("the remote shell must be plain ssh, without options that run, write or fork") {
  for (std::string rsh : {"sh -c 'id > /tmp/x'", "/bin/bash", "ssh -o ProxyCommand=nc %h %p",
                          "ssh -oLocalCommand=id", "ssh -E /tmp/ssh.log", "ssh -f", "ssh -M",
                          "ssh -S /tmp/ctl", "ssh -L 1:h:2", "ssh -o ControlMaster=auto",
                          "ssh -I /lib/pkcs11.so", "ssh host", "ssh -o 'unclosed", "./ssh"}) {
    CAPTURE(rsh);
    auto j = filter_job_args({"-a", "-e", rsh});
    CHECK(refused(j) == V{"-e " + rsh});
    CHECK(j.args == V{"-a"});
  }
  auto ok = filter_job_args({"-e",
                             "ssh -p 2222 -i /etc/backup/id -o BatchMode=yes -o "
                             "'UserKnownHostsFile /etc/backup/known_hosts' -4 -C -q"});
  CHECK(ok.refused.empty());
  CHECK(ok.args.size() == 2);
  // As the job's account, agent forwarding is its own business; as root it is root's agent.
  CHECK(filter_job_args({"-e", "ssh -A"}).refused.empty());
  CHECK(refused(filter_job_args({"-e", "ssh -A"}, {.as_root = true})) == V{"-e ssh -A"});
}

TEST_CASE("--rsync-path names a program, not a shell command") {
  CHECK(filter_job_args({"--rsync-path=sudo rsync"}).refused.empty());
  for (std::string p : {"mkdir -p /x && rsync", "rsync; id", "$(id)", "rsync > /tmp/x"}) {
    CAPTURE(p);
    CHECK(filter_job_args({"--rsync-path=" + p}).refused.size() == 1);
  }
}

TEST_CASE("as root, options that follow links or read files others can change are refused") {
  backup_doctor::test::TempDir dir("bd-rsync-args");
  auto theirs = dir.write("excludes", "*.tmp\n");
  REQUIRE(::chown(theirs.c_str(), 999, 999) == 0);
  auto root_dir = dir.path() / "root";
  std::filesystem::create_directory(root_dir);
  auto ours = root_dir / "excludes";
  std::ofstream(ours) << "*.tmp\n";
  const backup_doctor::rsync::JobArgsPolicy root{.as_root = true};
  auto j =
      filter_job_args({"-aL", "-k", "--copy-unsafe-links", "-K", "--insecure-links",
                       "--exclude-from=" + theirs.string(), "--files-from", theirs.string(),
                       "--filter=merge " + theirs.string(), "--filter=dir-merge .rsync-filter",
                       "-F", "-C", "--password-file=" + theirs.string(),
                       "--exclude-from=" + ours.string(), "--files-from=-", "--filter=- *.bak"},
                      root);
  CHECK(refused(j) == V{"-L", "-k", "--copy-unsafe-links", "-K", "--insecure-links",
                        "--exclude-from=" + theirs.string(), "--files-from " + theirs.string(),
                        "--filter=merge " + theirs.string(), "--filter=dir-merge .rsync-filter",
                        "-F", "-C", "--password-file=" + theirs.string()});
  CHECK(j.args == V{"-a", "--exclude-from=" + ours.string(), "--files-from=-", "--filter=- *.bak"});
  // Without root, the same options are the job's own business.
  CHECK(filter_job_args({"-aL", "--exclude-from=" + theirs.string(), "-F"}).refused.empty());
  // The check brings its own password file for a daemon.
  auto own = filter_job_args({"--password-file=/etc/rsync.pw"}, {.own_password_file = true});
  CHECK(own.ignored == V{"--password-file=/etc/rsync.pw"});
}

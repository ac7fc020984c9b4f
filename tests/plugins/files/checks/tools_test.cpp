#include "fixtures.hpp"

#include <cstdlib>

using namespace files_test;

TEST_CASE("files.tools: real tools found with their versions") {
  auto r = run("files.tools", {{"tools", {"tar", json{{"name", "gzip"}, {"min_version", "1.6"}}}}});
  CHECK(r.status == Status::ok);
  REQUIRE(r.details["tools"].size() == 2);
  CHECK(r.details["tools"][0]["found"] == true);
  CHECK(std::filesystem::exists(r.details["tools"][0]["path"].get<std::string>()));
  CHECK_FALSE(r.details["tools"][0]["version"].get<std::string>().empty());
  CHECK(r.details["tools"][1]["version_ok"] == true);
  CHECK(contains(r.summary, "tar 1."));
  CHECK(r.metric("tools_missing")->value == 0);
}

TEST_CASE("files.tools: a missing tool fails naming its Debian package") {
  auto r =
      run("files.tools",
          {{"tools",
            {"tar", "bd-no-such-tool", json{{"name", "rclone-not-here"}, {"package", "rclone"}}}}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "missing: bd-no-such-tool, rclone-not-here"));
  CHECK(contains(r.remediation, "apt-get install rclone"));
  CHECK(contains(r.remediation, "No Debian package is known for bd-no-such-tool"));
  CHECK(r.metric("tools_missing")->value == 2);
  CHECK(r.details["missing"].size() == 2);
}

TEST_CASE("files.tools: known tools get their package even when absent from the search path") {
  TempDir t;
  // An empty directory as the whole PATH, like a job whose crontab PATH is wrong.
  auto r = run("files.tools",
               {{"tools", {"pg_dump", "rsync", "tar"}}, {"search_path", t.path().string()}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.remediation, "apt-get install postgresql-client rsync tar"));
  CHECK(contains(r.remediation, "PATH"));
}

TEST_CASE("files.tools: minimum version too high fails - unparseable version is an error") {
  auto r = run("files.tools", {{"tools", {json{{"name", "tar"}, {"min_version", "99.1"}}}}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, "too old: tar 1."));
  CHECK(contains(r.summary, "(need 99.1)"));
  CHECK(r.metric("tools_outdated")->value == 1);
  CHECK(contains(r.remediation, "apt-get install --only-upgrade tar"));

  TempDir t;
  auto script = t.write("bin/weird", "#!/bin/sh\necho 'no digits here'\n");
  set_mode(script, 0755);
  auto u = run("files.tools", {{"tools", {json{{"name", "weird"}, {"min_version", "1"}}}},
                               {"search_path", (t / "bin").string()}});
  CHECK(u.status == Status::error);
  CHECK(contains(u.remediation, "version_regex"));

  auto custom = t.write("bin/custom", "#!/bin/sh\necho \"build 2024 release 7.3 (rev 9)\" >&2\n");
  set_mode(custom, 0755);
  auto c = run("files.tools", {{"tools",
                                {json{{"name", "custom"},
                                      {"min_version", "7"},
                                      {"version_args", json::array({"-V"})},
                                      {"version_regex", "release ([0-9.]+)"}}}},
                               {"search_path", (t / "bin").string()}});
  CHECK(c.status == Status::ok);
  CHECK(c.details["tools"][0]["version"] == "7.3");
}

TEST_CASE("files.tools: a hanging version command is cut at the timeout") {
  TempDir t;
  auto hang = t.write("bin/hang", "#!/bin/sh\nexec sleep 30\n");
  set_mode(hang, 0755);
  auto start = std::chrono::steady_clock::now();
  auto r = run("files.tools",
               {{"tools", {"hang"}}, {"search_path", (t / "bin").string()}, {"timeout", "300ms"}});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(r.status == Status::ok);  // found; no version asked for
  CHECK(contains(r.details["tools"][0]["version_command"].get<std::string>(), "timed out"));
}

TEST_CASE("files.tools: checked as the backup user") {
  TempDir t;
  set_mode(t.path(), 0755);
  std::filesystem::create_directories(t / "bin");
  set_mode(t / "bin", 0755);
  auto mine = t.write("bin/rootonly", "#!/bin/sh\necho 1.0\n");
  set_mode(mine, 0700);
  auto open = t.write("bin/shared", "#!/bin/sh\nid -un\n");
  set_mode(open, 0755);
  auto r = run("files.tools",
               {{"tools", {"rootonly", json{{"name", "shared"}, {"version_regex", "(.+)"}}}},
                {"search_path", (t / "bin").string()},
                {"user", kTestUser}});
  CHECK(r.status == Status::fail);
  CHECK(contains(r.summary, std::string(kTestUser) + " cannot execute: rootonly"));
  // The version command really ran as that user.
  CHECK(r.details["tools"][1]["version"] == kTestUser);
  auto nouser = run("files.tools", {{"tools", {"tar"}}, {"user", "no-such-user-bd"}});
  CHECK(nouser.status == Status::fail);
}

TEST_CASE("files.tools: empty and relative search_path entries are not searched, and said so") {
  auto r = run("files.tools", {{"tools", {"tar"}}, {"search_path", "bin::/usr/bin:/bin"}});
  CHECK(r.status == Status::warn);
  CHECK(contains(r.summary, "(bin, (empty))"));
  CHECK(contains(r.remediation, "working directory"));
  CHECK(contains(r.details["tools"][0]["path"].get<std::string>(), "/bin/tar"));

  backup_doctor::files::FilesPlugin plugin;
  auto rel = backup_doctor::testing::run_check(plugin, "files.tools", {{"tools", {"./tar"}}});
  CHECK(rel.rc == BD_RC_ERROR);
  CHECK(contains(rel.error, "relative path"));
}

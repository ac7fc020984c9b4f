// The archive plugin through the real backup-doctor binary: a checklist in a temp dir, the JSON
// report out. The check runs in the core's child process, as in production.
#include "fixtures.hpp"

#include <map>

using namespace archive_test;

TEST_CASE("backup-doctor run: intact, truncated, checksum mismatch, leftovers") {
  TempDir t("bd-archive-e2e");
  make_tree(t / "opt/trixtech", 16);
  std::string root = t.path().string();
  sh("mkdir -p backups/files && tar -czf backups/files/latest.tar.gz -C . opt/trixtech && "
     "cd backups/files && sha256sum latest.tar.gz > latest.tar.gz.sha256 && "
     "head -c 20000 latest.tar.gz > files_new.tar.gz && "
     "cp latest.tar.gz other.tar.gz && printf 'tail' >> other.tar.gz && "
     "sha256sum latest.tar.gz | sed s/latest/other/ > other.tar.gz.sha256 && touch backup.tmp",
     root);
  set_mtime(t / "backups/files/backup.tmp", 1700000000);
  set_mtime(t / "backups/files/latest.tar.gz", 1700000100);
  set_mtime(t / "backups/files/other.tar.gz", 1700000200);
  nlohmann::json doc = {
      {"version", 1},
      {"name", "archive-e2e"},
      {"vars", {{"backup_dir", "/nonexistent"}}},
      {"checks",
       {{{"id", "latest"},
         {"use", "archive.verify"},
         {"with", {{"path", "${backup_dir}/files/latest.tar.gz"}, {"require_checksum", true}}}},
        {{"id", "newest"},
         {"use", "archive.verify"},
         {"with", {{"path", "${backup_dir}/files"}, {"pattern", "*.tar.gz"}}}},
        {{"id", "other"},
         {"use", "archive.verify"},
         {"with", {{"path", "${backup_dir}/files/other.tar.gz"}}}},
        {{"id", "source"},
         {"use", "archive.compare_source"},
         {"needs", {"latest"}},
         {"with",
          {{"path", "${backup_dir}/files/latest.tar.gz"}, {"source", root + "/opt/trixtech"}}}},
        {{"id", "space"},
         {"use", "archive.restore_space"},
         {"with",
          {{"path", "${backup_dir}/files/latest.tar.gz"}, {"restore_target", root + "/restore"}}}},
        {{"id", "leftovers"},
         {"use", "archive.leftovers"},
         {"with", {{"paths", {"${backup_dir}/files"}}, {"min_age", "1h"}}}}}}};
  auto checklist = t.write("checklist.json", doc.dump(2));

  backup_doctor::support::ProcessOptions o;
  o.timeout = std::chrono::seconds(120);
  o.env["NO_COLOR"] = "1";
  auto r = backup_doctor::support::run_process(
      {BD_TEST_BIN, "run", checklist.string(), "--format", "json", "--no-progress", "--var",
       "backup_dir=" + root + "/backups"},
      o);
  REQUIRE_MESSAGE(r.started, r.start_error);
  INFO(r.err);
  auto report = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& result : report["results"]) by_id[result["id"]] = result;
  REQUIRE(by_id.size() == 6);

  CHECK(by_id["latest"]["status"] == "ok");
  CHECK(by_id["latest"]["details"]["checksum"]["match"] == true);
  bool has_entries_metric = false;
  for (const auto& m : by_id["latest"]["metrics"])
    if (m["name"] == "archive_entries" && m["value"] == 16 + 9) has_entries_metric = true;
  CHECK(has_entries_metric);

  CHECK(by_id["newest"]["status"] == "fail");  // files_new.tar.gz: the newest, truncated
  CHECK(by_id["newest"]["details"]["damage"]["kind"] == "truncated");
  CHECK(by_id["newest"]["details"]["damage"]["compressed_offset"] == 20000);
  CHECK(!by_id["newest"]["remediation"].get<std::string>().empty());

  CHECK(by_id["other"]["status"] == "fail");
  CHECK(by_id["other"]["details"]["checksum"]["match"] == false);

  CHECK(by_id["source"]["status"] == "ok");
  CHECK(by_id["source"]["details"]["matched"] == 16);
  CHECK(by_id["space"]["status"] == "ok");
  CHECK(by_id["leftovers"]["status"] == "warn");
  CHECK(by_id["leftovers"]["details"]["temporary_files"]["count"] == 1);
  CHECK(report["status"] == "fail");
}

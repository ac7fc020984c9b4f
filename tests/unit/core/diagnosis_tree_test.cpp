#include "reporters/diagnosis_tree.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

namespace {

// Results as a run makes them: what the tree reads is the status, the group, the relations, the
// plugin and the parameters' fingerprint.
struct Results {
  RunReport report;

  CheckResult& add(std::string id, Status status, std::string group = "database",
                   nlohmann::json params = nlohmann::json::object(), std::string plugin = "pg") {
    CheckResult r;
    r.id = std::move(id);
    r.status = status;
    r.group = std::move(group);
    r.plugin = std::move(plugin);
    r.type = r.plugin + ".x";
    r.param_fingerprint = parameter_fingerprint(params);
    report.results.push_back(std::move(r));
    return report.results.back();
  }
  CheckResult& skipped_for(std::string id, const std::string& need,
                           std::string group = "database") {
    CheckResult& r = add(std::move(id), Status::skipped, std::move(group));
    r.needs = {need};
    r.details = {{"blocked_by", {need}}};
    return r;
  }
  size_t at(const std::string& id) const {
    for (size_t i = 0; i < report.results.size(); ++i)
      if (report.results[i].id == id) return i;
    FAIL("no result " << id);
    return 0;
  }
  // The id of the cause the tree gives `id`, or "" for a root.
  std::string cause_of(const DiagnosisTree& tree, const std::string& id) const {
    auto cause = tree.cause[at(id)];
    return cause ? report.results[*cause].id : "";
  }
  std::vector<std::string> ids(const std::vector<size_t>& indexes) const {
    std::vector<std::string> out;
    for (size_t i : indexes) out.push_back(report.results[i].id);
    return out;
  }
};

using Ids = std::vector<std::string>;

const nlohmann::json kServer = {{"host", "127.0.0.1"}, {"port", "5432"}, {"user", "backup"}};

nlohmann::json server_and(nlohmann::json extra) {
  nlohmann::json out = kServer;
  out.update(extra);
  return out;
}

}  // namespace

TEST_CASE("disk full -> dump truncated -> size anomaly reads as one chain through after") {
  Results r;
  r.add("disk-room", Status::fail);
  r.add("log-errors", Status::fail).after = {"disk-room"};
  r.add("dump-usable", Status::fail).after = {"log-errors", "disk-room"};
  r.add("fresh", Status::warn).after = {"dump-usable"};
  r.add("connect", Status::ok);
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "disk-room").empty());
  CHECK(r.cause_of(tree, "log-errors") == "disk-room");
  // The first prerequisite listed that found something, not every one of them.
  CHECK(r.cause_of(tree, "dump-usable") == "log-errors");
  CHECK(r.cause_of(tree, "fresh") == "dump-usable");
  CHECK(tree.cause_kind[r.at("fresh")] == CauseKind::declared);
  CHECK(r.ids(tree.consequences[r.at("disk-room")]) == Ids{"log-errors"});
  REQUIRE(tree.groups.size() == 1);
  CHECK(tree.groups[0].name == "database");
  CHECK(tree.groups[0].worst == Status::fail);
  CHECK(r.ids(tree.groups[0].roots) == Ids{"disk-room", "connect"});
}

TEST_CASE("a problem whose prerequisites are all ok is a root; a skip goes under its need") {
  Results r;
  r.add("dir", Status::ok);
  r.add("fresh", Status::fail).needs = {"dir"};
  r.add("script", Status::fail);
  r.skipped_for("runs-script", "script");
  r.skipped_for("test-restore", "runs-script");
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "fresh").empty());
  CHECK(r.cause_of(tree, "runs-script") == "script");
  // A skip of a skip stays in the chain that explains it.
  CHECK(r.cause_of(tree, "test-restore") == "runs-script");
  CHECK(r.ids(tree.groups[0].roots) == Ids{"fresh", "script", "dir"});
}

TEST_CASE("a skipped prerequisite found nothing, so it causes only the skips it made") {
  Results r;
  r.add("selinux-status", Status::skipped);
  r.add("denials", Status::fail).after = {"selinux-status"};
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "denials").empty());
}

TEST_CASE("prerequisites that are not in the run are ignored") {
  Results r;
  r.add("fresh", Status::fail).after = {"not-selected"};
  r.report.results.back().needs = {"also-missing"};
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "fresh").empty());
  CHECK(r.ids(tree.groups[0].roots) == Ids{"fresh"});
}

TEST_CASE("roots are ordered fail, error, warn, skipped, ok, then in checklist order") {
  Results r;
  r.add("ok-1", Status::ok);
  r.add("warn-1", Status::warn);
  r.add("skip-1", Status::skipped);
  r.add("error-1", Status::error);
  r.add("fail-1", Status::fail);
  r.add("fail-2", Status::fail);
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.ids(tree.groups[0].roots) ==
        Ids{"fail-1", "fail-2", "error-1", "warn-1", "skip-1", "ok-1"});
}

TEST_CASE("groups are ordered worst first, ties by where their first problem is") {
  Results r;
  r.add("host-ok", Status::ok, "host");
  r.add("files-warn", Status::warn, "files");
  r.add("offsite-fail", Status::fail, "offsite");
  r.add("db-ok", Status::ok, "database");
  r.add("db-fail", Status::fail, "database");
  r.add("host-fail", Status::fail, "host");
  auto tree = build_diagnosis_tree(r.report);
  REQUIRE(tree.groups.size() == 4);
  // offsite's failure comes before database's and host's in the checklist.
  CHECK(tree.groups[0].name == "offsite");
  CHECK(tree.groups[1].name == "database");
  CHECK(tree.groups[2].name == "host");
  CHECK(tree.groups[3].name == "files");
  CHECK(tree.groups[3].worst == Status::warn);
  CHECK(r.ids(tree.groups[2].roots) == Ids{"host-fail", "host-ok"});
}

TEST_CASE("a consequence from another group is shown in its cause's group") {
  Results r;
  r.add("s3-ok", Status::ok, "offsite");
  r.add("db-fresh", Status::warn, "database");
  r.add("s3-fresh", Status::fail, "offsite").after = {"db-fresh"};
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "s3-fresh") == "db-fresh");
  REQUIRE(tree.groups.size() == 2);
  // database holds the failure now, so it comes first with the worst status.
  CHECK(tree.groups[0].name == "database");
  CHECK(tree.groups[0].worst == Status::fail);
  CHECK(tree.groups[1].name == "offsite");
  CHECK(tree.groups[1].worst == Status::ok);
}

TEST_CASE("a result without a group is grouped by its first tag, else as other") {
  CheckResult tagged;
  tagged.tags = {"database", "logs"};
  CHECK(group_of(tagged) == "database");
  CHECK(group_of(CheckResult{}) == kDefaultGroup);
  CHECK(std::string(kDefaultGroup) == "other");
  tagged.group = "files";
  CHECK(group_of(tagged) == "files");
}

TEST_CASE("an error with no declared cause goes under a failing check it shares a server with") {
  Results r;
  r.add("log", Status::fail, "database", {{"path", "/var/log/db.log"}}, "files");
  r.add("connect", Status::fail, "database", kServer);
  r.add("role", Status::error, "database", server_and({{"warn_before", "14d"}}));
  r.add("privileges", Status::error, "database", kServer);
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "role") == "connect");
  CHECK(tree.cause_kind[r.at("role")] == CauseKind::inferred);
  // Equal parameters: under the earliest, not under each other.
  CHECK(r.cause_of(tree, "privileges") == "connect");
  CHECK(r.cause_of(tree, "connect").empty());
  CHECK(r.ids(tree.consequences[r.at("connect")]) == Ids{"role", "privileges"});
}

TEST_CASE("two errors with the same parameters and nothing failing: the later under the earlier") {
  Results r;
  r.add("role", Status::error, "database", kServer);
  r.add("privileges", Status::error, "database", kServer);
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "role").empty());
  CHECK(r.cause_of(tree, "privileges") == "role");
}

TEST_CASE("the inference is conservative") {
  SUBCASE("another group") {
    Results r;
    r.add("connect", Status::fail, "restore", kServer);
    r.add("role", Status::error, "database", kServer);
    CHECK(r.cause_of(build_diagnosis_tree(r.report), "role").empty());
  }
  SUBCASE("another plugin") {
    Results r;
    r.add("connect", Status::fail, "database", kServer, "mysql");
    r.add("role", Status::error, "database", kServer);
    CHECK(r.cause_of(build_diagnosis_tree(r.report), "role").empty());
  }
  SUBCASE("a parameter with another value") {
    Results r;
    r.add("connect", Status::fail, "database", server_and({{"port", "5433"}}));
    r.add("role", Status::error, "database", kServer);
    CHECK(r.cause_of(build_diagnosis_tree(r.report), "role").empty());
  }
  SUBCASE("a parameter the error does not have") {
    Results r;
    r.add("connect", Status::fail, "database", server_and({{"sslmode", "require"}}));
    r.add("role", Status::error, "database", kServer);
    CHECK(r.cause_of(build_diagnosis_tree(r.report), "role").empty());
  }
  SUBCASE("a check without parameters is no evidence") {
    Results r;
    r.add("memory", Status::fail, "database", nlohmann::json::object());
    r.add("role", Status::error, "database", kServer);
    CHECK(r.cause_of(build_diagnosis_tree(r.report), "role").empty());
  }
  SUBCASE("only a failure or an error is a cause") {
    Results r;
    r.add("expiring", Status::warn, "database", kServer);
    r.add("role", Status::error, "database", kServer);
    CHECK(r.cause_of(build_diagnosis_tree(r.report), "role").empty());
  }
  SUBCASE("only an error is inferred to be a consequence") {
    Results r;
    r.add("connect", Status::fail, "database", kServer);
    r.add("privileges", Status::fail, "database", kServer);
    CHECK(r.cause_of(build_diagnosis_tree(r.report), "privileges").empty());
  }
  SUBCASE("an error for want of a secret has its cause in its own text") {
    Results r;
    r.add("connect", Status::fail, "database", kServer);
    r.add("role", Status::error, "database", kServer).unconfigured = true;
    CHECK(r.cause_of(build_diagnosis_tree(r.report), "role").empty());
  }
  SUBCASE("a declared cause wins") {
    Results r;
    r.add("connect", Status::fail, "database", kServer);
    r.add("dns", Status::fail, "database", {{"name", "db1"}}, "net");
    r.add("role", Status::error, "database", kServer).after = {"dns"};
    auto tree = build_diagnosis_tree(r.report);
    CHECK(r.cause_of(tree, "role") == "dns");
    CHECK(tree.cause_kind[r.at("role")] == CauseKind::declared);
  }
}

TEST_CASE("parameters are compared as the run had them, secrets included, by fingerprint") {
  auto a = parameter_fingerprint({{"host", "db1"}, {"password", "s3cret"}, {"opts", {{"b", 1}}}});
  auto b = parameter_fingerprint({{"opts", {{"b", 1}}}, {"password", "s3cret"}, {"host", "db1"}});
  CHECK(a == b);
  CHECK(a != parameter_fingerprint({{"host", "db1"}, {"password", "other"}, {"opts", {{"b", 1}}}}));
  Results r;
  r.add("connect", Status::fail, "database", {{"host", "db1"}, {"password", "one"}});
  r.add("role", Status::error, "database", {{"host", "db1"}, {"password", "two"}});
  CHECK(r.cause_of(build_diagnosis_tree(r.report), "role").empty());
}

TEST_CASE("relations that loop in results made by hand are cut, not followed forever") {
  Results r;
  r.add("a", Status::fail).after = {"b"};
  r.add("b", Status::fail).after = {"a"};
  r.skipped_for("c", "c");
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "a") == "b");
  CHECK(r.cause_of(tree, "b").empty());
  CHECK(r.cause_of(tree, "c").empty());
  CHECK(r.ids(tree.groups[0].roots) == Ids{"b", "c"});
}

TEST_CASE("a chain of skips as long as a big checklist is built without recursion") {
  Results r;
  r.add("c0", Status::fail);
  for (int i = 1; i < 100000; ++i)
    r.skipped_for("c" + std::to_string(i), "c" + std::to_string(i - 1));
  auto tree = build_diagnosis_tree(r.report);
  CHECK(r.cause_of(tree, "c99999") == "c99998");
  REQUIRE(tree.groups.size() == 1);
  CHECK(tree.groups[0].roots.size() == 1);
  CHECK(tree.groups[0].worst == Status::fail);
}

// The C++ SDK seen from a plugin author: registering checks, the thunks, and the test harness.
#include <backup_doctor/schema.hpp>
#include <backup_doctor/sdk.hpp>
#include <backup_doctor/testing.hpp>

#include <doctest/doctest.h>

using namespace backup_doctor;

namespace {

class Sample : public sdk::Plugin {
 public:
  Sample() : Plugin("sample", "0.1.0", "SDK test plugin") {
    add_check("sample.ok", "ok", "doc", R"({"type":"object"})",
              [](const nlohmann::json& p, sdk::Context& ctx) {
                ctx.metric("n", p.value("n", 1), "count");
                ctx.ok("fine", {{"n", p.value("n", 1)}});
              });
    add_check(
        "sample.throws", "throws", "", R"({"type":"object"})",
        [](const nlohmann::json&, sdk::Context&) { throw sdk::CheckError("bad parameter 'x'"); });
    add_check("sample.silent", "silent", "", R"({"type":"object"})",
              [](const nlohmann::json&, sdk::Context&) {});
    add_check("sample.quotes", "quotes bytes it read", "", R"({"type":"object"})",
              [](const nlohmann::json&, sdk::Context& ctx) {
                std::string line =
                    "error \x9b"
                    "31m \xff";  // not UTF-8, as a log line can be
                ctx.metric("lines", 1, "count", {{"line", line}});
                ctx.fail("1 error line", "read it", {{"line", line}});
              });
  }
};

}  // namespace

TEST_CASE("describe() is JSON naming the plugin and each check with its schema") {
  bd_str text = sdk::detail::Thunks<Sample>::describe();
  auto j = nlohmann::json::parse(std::string(text.data, text.size));
  CHECK(j["name"] == "sample");
  CHECK(j["checks"].size() == 4);
  CHECK(j["checks"][0]["params"]["type"] == "object");
  CHECK(sdk::detail::Thunks<Sample>::describe().data == text.data);  // stable until unload
}

TEST_CASE("the table declares this ABI and fills every slot") {
  const bd_plugin_api* api = sdk::detail::Thunks<Sample>::table();
  CHECK(api->struct_size == sizeof(bd_plugin_api));
  CHECK(api->abi_major == BD_ABI_MAJOR);
  CHECK(api->abi_minor == BD_ABI_MINOR);
  CHECK(static_cast<bool>(api->describe));
  CHECK(static_cast<bool>(api->create));
  CHECK(static_cast<bool>(api->destroy));
  CHECK(static_cast<bool>(api->run_check));
}

TEST_CASE("checks run through the thunks - exceptions and missing results become errors") {
  Sample plugin;
  auto ok = testing::run_check(plugin, "sample.ok", {{"n", 3}});
  CHECK(ok.rc == BD_RC_OK);
  CHECK(ok.status == sdk::Status::ok);
  CHECK(ok.details["n"] == 3);
  CHECK(ok.metric("n")->value == 3);

  auto thrown = testing::run_check(plugin, "sample.throws", {});
  CHECK(thrown.rc == BD_RC_ERROR);
  CHECK(thrown.error == "bad parameter 'x'");

  auto silent = testing::run_check(plugin, "sample.silent", {});
  CHECK(silent.rc == BD_RC_ERROR);
  CHECK(silent.error.find("without reporting") != std::string::npos);

  CHECK(testing::run_check(plugin, "sample.nope", {}).rc == BD_RC_UNKNOWN_CHECK);
}

TEST_CASE("details and labels quoting bytes that are not UTF-8 still make a finding") {
  Sample plugin;
  auto r = testing::run_check(plugin, "sample.quotes", {});
  CHECK(r.rc == BD_RC_OK);
  CHECK(r.status == sdk::Status::fail);
  CHECK(r.details["line"] ==
        "error \xef\xbf\xbd"
        "31m \xef\xbf\xbd");
}

namespace {

// Checks as values, the plugin's hooks, and a context told about a secret.
sdk::CheckType leaky_check() {
  return {
      .type = "secretive.leaky",
      .summary = "quotes its password everywhere",
      .doc = "",
      .params_schema = sdk::parse_schema(R"({"type": "object"})"),
      .run = [](const nlohmann::json& p, sdk::Context& ctx) {
        std::string pw = p.value("password", "");
        ctx.info("connecting with " + pw);
        ctx.metric("tries", 1, "count", {{"dsn", "user:" + pw + "@db"}});
        ctx.note("server", "db with " + pw);
        if (p.value("throw", false))
          throw sdk::CheckError("login as " + pw + " failed", "Rotate " + pw + ".");
        if (p.value("throw_plain", false)) throw std::runtime_error("boom " + pw);
        ctx.fail("password " + pw + " rejected", "Set a new one instead of " + pw, {{"tried", pw}});
      }};
}

class Secretive : public sdk::Plugin {
 public:
  Secretive() : Plugin("secretive", "1", "") { add(leaky_check()); }
  void before_check(const nlohmann::json& params, sdk::Context& ctx) const override {
    ctx.add_secret(params.value("password", ""));
  }
};

}  // namespace

TEST_CASE("a context masks the secrets it was told in every text it sends") {
  Secretive plugin;
  auto r = testing::run_check(plugin, "secretive.leaky", {{"password", "hunter2x"}});
  REQUIRE(r.rc == BD_RC_OK);
  std::string everything =
      r.summary + r.remediation + r.details.dump() + r.metrics.at(0).labels.dump() + r.logs.at(0);
  CHECK(everything.find("hunter2x") == std::string::npos);
  CHECK(r.summary == "password *** rejected");
  CHECK(r.details["server"] == "db with ***");  // a note joins the details of the result
}

TEST_CASE("a CheckError with a remediation is an error result; other exceptions reach the host") {
  Secretive plugin;
  auto with_fix =
      testing::run_check(plugin, "secretive.leaky", {{"password", "hunter2x"}, {"throw", true}});
  CHECK(with_fix.rc == BD_RC_OK);
  CHECK(with_fix.status == sdk::Status::error);
  CHECK(with_fix.summary == "login as *** failed");
  CHECK(with_fix.remediation == "Rotate ***.");

  auto plain = testing::run_check(plugin, "secretive.leaky",
                                  {{"password", "hunter2x"}, {"throw_plain", true}});
  CHECK(plain.rc == BD_RC_ERROR);
  CHECK(plain.error == "boom ***");
}

TEST_CASE("from_bd and the one status encoding") {
  CHECK(sdk::from_bd(bd_str{nullptr, 0}).empty());
  CHECK(sdk::from_bd(sdk::to_bd("abc")) == "abc");
  CHECK(sdk::status_word(sdk::Status::skipped) == "skipped");
  CHECK(static_cast<int>(sdk::Status::error) == BD_STATUS_ERROR);
}

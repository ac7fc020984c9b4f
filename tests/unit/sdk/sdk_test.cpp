// The C++ SDK seen from a plugin author: registering checks, the thunks, and the test harness.
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

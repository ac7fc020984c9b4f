#include "interpolate.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

namespace {
InterpolationContext ctx_with(const nlohmann::json& vars,
                              std::map<std::string, std::string> env = {}) {
  static nlohmann::json holder;
  static std::map<std::string, std::string> env_holder;
  holder = vars;
  env_holder = std::move(env);
  InterpolationContext c;
  c.vars = &holder;
  c.getenv = [](const std::string& n) -> const char* {
    auto it = env_holder.find(n);
    return it == env_holder.end() ? nullptr : it->second.c_str();
  };
  return c;
}
}  // namespace

TEST_CASE("variables and environment values are substituted") {
  auto c = ctx_with({{"dir", "/opt/backups"}, {"hours", 25}}, {{"HOST", "db1"}});
  std::vector<InterpolationError> errors;
  auto out = interpolate({{"path", "${dir}/database"},
                          {"host", "${env:HOST}"},
                          {"n", "${hours}"},
                          {"list", {"${dir}", "$${literal}"}}},
                         c, errors);
  CHECK(errors.empty());
  CHECK(out["path"] == "/opt/backups/database");
  CHECK(out["host"] == "db1");
  CHECK(out["n"] == 25);  // a whole-string variable keeps its type
  CHECK(out["list"][1] == "${literal}");
}

TEST_CASE("unknown variables and unset environment variables are errors with their place") {
  auto c = ctx_with({});
  std::vector<InterpolationError> errors;
  interpolate({{"a", {{"b", "${nope}"}}}, {"c", "${env:NOT_SET_ANYWHERE}"}, {"d", "${open"}}, c,
              errors);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].path == std::vector<std::string>{"a", "b"});
  CHECK(errors[0].message.find("unknown variable ${nope}") == 0);
  CHECK(errors[1].message.find("NOT_SET_ANYWHERE") != std::string::npos);
  CHECK(errors[2].message.find("unterminated") == 0);
}

TEST_CASE("secrets are placeholders when validating and values when running") {
  test::TempDir dir;
  auto file = dir.write("pg", "from-file\n");
  auto c = ctx_with({}, {{"DB_PASSWORD", "from-env"}});
  nlohmann::json with{{"password", {{"secret", {{"env", "DB_PASSWORD"}}}}},
                      {"key", {{"secret", {{"file", file.string()}}}}}};
  std::vector<InterpolationError> errors;
  auto shown = interpolate(with, c, errors);
  CHECK(shown["password"] == kSecretPlaceholder);
  CHECK(shown["key"] == kSecretPlaceholder);

  Scrubber scrubber;
  c.resolve_secrets = true;
  c.scrubber = &scrubber;
  auto real = interpolate(with, c, errors);
  CHECK(errors.empty());
  CHECK(real["password"] == "from-env");
  CHECK(real["key"] == "from-file");
  CHECK(scrubber.scrub("from-env from-file") == "[REDACTED] [REDACTED]");
}

TEST_CASE("a missing secret is an error that does not reveal anything") {
  auto c = ctx_with({});
  c.resolve_secrets = true;
  std::vector<InterpolationError> errors;
  interpolate({{"p", {{"secret", {{"env", "MISSING_PW"}}}}}, {"q", {{"secret", {{"vault", "x"}}}}}},
              c, errors);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].message.find("MISSING_PW is not set") != std::string::npos);
  CHECK(errors[1].message.find("a secret is") == 0);
}

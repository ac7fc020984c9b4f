// s3.auth against moto with IAM authentication switched on (real signature and policy checks),
// plus scripted answers for what moto does not produce (ExpiredToken, RequestTimeTooSkewed).
#include "fixtures.hpp"
#include "s3_plugin.hpp"
#include "support/temp_dir.hpp"
#include "wire_format.hpp"

#include <backup_doctor/text.hpp>

#include <filesystem>
#include <map>
#include <optional>

#include <cstdlib>
#include <ctime>

using backup_doctor::testing::run_check;
using namespace s3test;
using nlohmann::json;

namespace {

// A signature mismatch: the key id is known, the secret is wrong, and every field says which
// value to fix and where it was read.
void check_wrong_secret(const backup_doctor::testing::Result& r, const std::string& id_from,
                        const std::string& secret_from) {
  CHECK_STATUS(r, fail);
  CHECK(r.details["code"] == "SignatureDoesNotMatch");
  std::string key = r.details["access_key_id"];
  CHECK(r.summary == "HeadBucket: the secret key does not belong to access key " + key + " (" +
                         secret_from + " is wrong)");
  CHECK(r.remediation.rfind("The endpoint knows " + key + " (" + id_from +
                                ") but the request was signed with another secret: the value of " +
                                secret_from + " is wrong.",
                            0) == 0);
  CHECK(r.details["wrong_value"] == secret_from);
  check_no_secret(r);
}

struct Key {
  std::string id, secret, token;
};

// IAM users and a role, created while authentication is still off.
struct AuthWorld {
  std::string bucket;
  Key backup, noperm, role;

  static AuthWorld& get() {
    static AuthWorld w = [] {
      auto& m = Moto::get();
      AuthWorld w;
      w.bucket = m.new_bucket("auth");
      m.aws({"s3api", "create-bucket", "--bucket", w.bucket});
      auto make_user = [&](const std::string& name, bool allow) {
        m.aws({"iam", "create-user", "--user-name", name});
        if (allow)
          m.aws(
              {"iam", "put-user-policy", "--user-name", name, "--policy-name", "s3",
               "--policy-document",
               R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})"});
        auto k = json::parse(m.aws({"iam", "create-access-key", "--user-name", name}).out);
        return Key{k["AccessKey"]["AccessKeyId"], k["AccessKey"]["SecretAccessKey"], ""};
      };
      std::string suffix = std::to_string(::getpid());
      w.backup = make_user("backup-" + suffix, true);
      w.noperm = make_user("noperm-" + suffix, false);
      m.aws(
          {"iam", "create-role", "--role-name", "backup-role-" + suffix,
           "--assume-role-policy-document",
           R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]})"});
      m.aws(
          {"iam", "put-role-policy", "--role-name", "backup-role-" + suffix, "--policy-name", "s3",
           "--policy-document",
           R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})"});
      auto creds = json::parse(m.aws({"sts", "assume-role", "--role-arn",
                                      "arn:aws:iam::123456789012:role/backup-role-" + suffix,
                                      "--role-session-name", "backup"})
                                   .out)["Credentials"];
      w.role = Key{creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]};
      return w;
    }();
    return w;
  }
};

json params_with(const Key& key, const std::string& bucket) {
  json p = {{"endpoint", Moto::get().endpoint()},
            {"sts_endpoint", Moto::get().endpoint()},
            {"bucket", bucket},
            {"access_key_id", key.id},
            {"secret_access_key", key.secret},
            {"timeout", "20s"}};
  if (!key.token.empty()) p["session_token"] = key.token;
  return p;
}

// Sets the AWS credential variables for one test (unsetting the others) and restores them.
class CredentialEnv {
 public:
  explicit CredentialEnv(const std::map<std::string, std::string>& vars) {
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                             "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"}) {
      const char* old = std::getenv(name);
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
      auto it = vars.find(name);
      if (it != vars.end())
        setenv(name, it->second.c_str(), 1);
      else
        unsetenv(name);
    }
  }
  ~CredentialEnv() {
    for (const auto& [name, value] : saved_)
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
  }
  CredentialEnv(const CredentialEnv&) = delete;
  CredentialEnv& operator=(const CredentialEnv&) = delete;

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

std::string http_date(int64_t epoch) {
  time_t t = static_cast<time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace

TEST_CASE("s3.auth: real signatures against moto with IAM authentication on") {
  auto& w = AuthWorld::get();
  backup_doctor::s3::S3Plugin plugin;
  AuthOn auth;

  SUBCASE("valid key: STS identity and HeadBucket") {
    auto r = run_check(plugin, "s3.auth", params_with(w.backup, w.bucket));
    CHECK_STATUS(r, ok);
    CHECK(r.details["identity"]["arn"].get<std::string>().find(":user/backup-") !=
          std::string::npos);
    CHECK(r.details["credential_source"] == "check parameters");
    CHECK(r.details["access_key_id"].get<std::string>().find(w.backup.id.substr(16)) !=
          std::string::npos);
    CHECK(r.metric("clock_skew") != nullptr);
    check_no_secret(r, w.backup.secret);
  }
  SUBCASE("unknown access key: InvalidAccessKeyId (STS) and the same through S3 alone") {
    Key bogus{"AKIAXXXXXXXXXXXXXXXX", kTestSecret, ""};
    auto r = run_check(plugin, "s3.auth", params_with(bogus, w.bucket));
    CHECK_STATUS(r, fail);
    CHECK(r.details["category"] == "invalid_access_key");
    auto p = params_with(bogus, w.bucket);
    p["use_sts"] = false;
    auto s3only = run_check(plugin, "s3.auth", p);
    CHECK_STATUS(s3only, fail);
    CHECK(s3only.details["code"] == "InvalidAccessKeyId");
    CHECK(s3only.details["category"] == "invalid_access_key");
    check_no_secret(r);
    check_no_secret(s3only);
  }
  SUBCASE("right key id, wrong secret: SignatureDoesNotMatch, secret never printed") {
    Key wrong{w.backup.id, kTestSecret, ""};
    auto p = params_with(wrong, w.bucket);
    p["use_sts"] = false;
    auto r = run_check(plugin, "s3.auth", p);
    check_wrong_secret(r, "`access_key_id` of the check", "`secret_access_key` of the check");
  }
  SUBCASE("identity without permission: AccessDenied naming s3:ListBucket") {
    auto r = run_check(plugin, "s3.auth", params_with(w.noperm, w.bucket));
    CHECK_STATUS(r, fail);
    CHECK(r.details["category"] == "access_denied");
    CHECK(r.details["missing_action"] == "s3:ListBucket");
    CHECK(r.remediation.find("arn:aws:s3:::" + w.bucket) != std::string::npos);
    CHECK(r.details["identity"]["arn"].get<std::string>().find(":user/noperm-") !=
          std::string::npos);
    check_no_secret(r, w.noperm.secret);
  }
  SUBCASE("bucket that does not exist: NoSuchBucket") {
    auto r = run_check(plugin, "s3.auth", params_with(w.backup, "no-such-bucket-" + w.bucket));
    CHECK_STATUS(r, fail);
    CHECK(r.details["category"] == "no_such_bucket");
    CHECK(r.remediation.find("create-bucket") != std::string::npos);
  }
  SUBCASE("credentials from a profile's credential_process sign real requests") {
    backup_doctor::test::TempDir dir("bd-s3-proc");
    json printed = {{"Version", 1},
                    {"AccessKeyId", w.role.id},
                    {"SecretAccessKey", w.role.secret},
                    {"SessionToken", w.role.token},
                    {"Expiration", "2999-01-01T00:00:00Z"}};
    std::string tool =
        dir.write("creds-tool", "#!/bin/sh\ncat <<'EOF'\n" + printed.dump() + "\nEOF\n").string();
    std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
    std::string config =
        dir.write("config", "[profile vault]\ncredential_process = " + tool + " --backup\n")
            .string();
    json p = {{"endpoint", Moto::get().endpoint()},
              {"sts_endpoint", Moto::get().endpoint()},
              {"bucket", w.bucket},
              {"profile", "vault"},
              {"config_file", config},
              {"credentials_file", (dir.path() / "none").string()},
              {"timeout", "20s"}};
    auto r = run_check(plugin, "s3.auth", p);
    CHECK_STATUS(r, ok);
    CHECK(r.details["credential_source"] == "credential_process of " + config + " [profile vault]");
    CHECK(r.details["session_token"] == true);
    CHECK(r.details["identity"]["arn"].get<std::string>().find("assumed-role/backup-role-") !=
          std::string::npos);
    check_no_secret(r, w.role.secret);
    check_no_secret(r, w.role.token);
  }
  SUBCASE("temporary credentials: the session token is sent and signed") {
    auto r = run_check(plugin, "s3.auth", params_with(w.role, w.bucket));
    CHECK_STATUS(r, ok);
    CHECK(r.details["session_token"] == true);
    CHECK(r.details["identity"]["arn"].get<std::string>().find("assumed-role/backup-role-") !=
          std::string::npos);
    check_no_secret(r, w.role.token);
    Key bad = w.role;
    bad.token = "not-the-token-of-this-key";
    auto p = params_with(bad, w.bucket);
    p["use_sts"] = false;
    auto rb = run_check(plugin, "s3.auth", p);
    CHECK_STATUS(rb, fail);
    CHECK(rb.details["category"] == "invalid_token");
    check_no_secret(rb, "not-the-token-of-this-key");
  }
}

TEST_CASE("s3.auth: expired token and clock skew (scripted answers, moto has neither)") {
  backup_doctor::s3::S3Plugin plugin;
  json base = {{"access_key_id", kTestKeyId},
               {"secret_access_key", kTestSecret},
               {"session_token", "expired-session-token-0001"},
               {"bucket", "backups"},
               {"timeout", "5s"}};
  SUBCASE("ExpiredToken") {
    ScriptedServer server({{400,
                            {},
                            "<Error><Code>ExpiredToken</Code><Message>The provided token "
                            "has expired.</Message></Error>"}});
    json p = base;
    p["endpoint"] = server.endpoint();
    auto r = run_check(plugin, "s3.auth", p);
    CHECK_STATUS(r, fail);
    CHECK(r.details["category"] == "expired_token");
    CHECK(r.remediation.find("Refresh") != std::string::npos);
    check_no_secret(r, "expired-session-token-0001");
  }
  SUBCASE("RequestTimeTooSkewed: the skew is measured from the Date header") {
    int64_t server_now = backup_doctor::s3::now_epoch() + 3600;
    ScriptedServer server(
        {{403,
          {{"Date", http_date(server_now)}},
          "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request "
          "time and the current time is too large.</Message><ServerTime>" +
              backup_doctor::sdk::iso_time(server_now) +
              "</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></"
              "Error>"}});
    json p = base;
    p["endpoint"] = server.endpoint();
    auto r = run_check(plugin, "s3.auth", p);
    CHECK_STATUS(r, fail);
    CHECK(r.details["category"] == "clock_skew");
    auto skew = r.details["clock_skew_seconds"].get<int64_t>();
    CHECK(skew >= 3595);
    CHECK(skew <= 3605);
    CHECK(r.summary.find("1h") != std::string::npos);
    CHECK(r.remediation.find("NTP") != std::string::npos);
    REQUIRE(r.metric("clock_skew") != nullptr);
    CHECK(r.metric("clock_skew")->value == doctest::Approx(3600).epsilon(0.01));
  }
  SUBCASE("accepted, but the clock is already drifting: warn") {
    ScriptedServer server({{200, {{"Date", http_date(backup_doctor::s3::now_epoch() - 600)}}, ""}});
    json p = base;
    p["endpoint"] = server.endpoint();
    auto r = run_check(plugin, "s3.auth", p);
    CHECK_STATUS(r, warn);
    CHECK(r.summary.find("ahead of") != std::string::npos);
  }
}

TEST_CASE("s3.auth: no credentials anywhere is a finding that lists where it looked") {
  backup_doctor::test::TempDir dir("bd-s3-nocreds");
  auto empty = dir.write("empty", "").string();
  // An explicit profile skips the environment, so only the two empty files are searched.
  backup_doctor::s3::S3Plugin plugin;
  auto r = run_check(plugin, "s3.auth",
                     {{"endpoint", Moto::get().endpoint()},
                      {"bucket", "x-bucket"},
                      {"credentials_file", empty},
                      {"config_file", empty},
                      {"profile", "backup"}});
  CHECK_STATUS(r, fail);
  CHECK(r.summary.find("no S3 credentials") != std::string::npos);
  CHECK(r.remediation.find(empty + " [backup]") != std::string::npos);
}

TEST_CASE("s3.auth: the finding names the value that is wrong, where it was read") {
  auto& w = AuthWorld::get();
  backup_doctor::s3::S3Plugin plugin;
  AuthOn auth;
  backup_doctor::test::TempDir dir("bd-s3-wrong");
  std::string empty = dir.write("empty", "").string();
  // No keys in the parameters: they come from the environment or the credentials file.
  json p = {{"endpoint", Moto::get().endpoint()}, {"bucket", w.bucket},   {"use_sts", false},
            {"credentials_file", empty},          {"config_file", empty}, {"timeout", "20s"}};

  SUBCASE("environment: right AWS_ACCESS_KEY_ID, wrong AWS_SECRET_ACCESS_KEY") {
    CredentialEnv env({{"AWS_ACCESS_KEY_ID", w.backup.id}, {"AWS_SECRET_ACCESS_KEY", kTestSecret}});
    auto r = run_check(plugin, "s3.auth", p);
    CHECK(r.details["credential_source"] == "environment");
    check_wrong_secret(r, "AWS_ACCESS_KEY_ID in the environment",
                       "AWS_SECRET_ACCESS_KEY in the environment");
  }
  SUBCASE("environment: unknown AWS_ACCESS_KEY_ID") {
    CredentialEnv env(
        {{"AWS_ACCESS_KEY_ID", "AKIAXXXXXXXXXXXXXXXX"}, {"AWS_SECRET_ACCESS_KEY", kTestSecret}});
    auto r = run_check(plugin, "s3.auth", p);
    CHECK_STATUS(r, fail);
    CHECK(r.details["code"] == "InvalidAccessKeyId");
    std::string key = r.details["access_key_id"];
    CHECK(r.summary == "HeadBucket: access key " + key +
                           " (AWS_ACCESS_KEY_ID in the environment) is not known to " +
                           Moto::get().endpoint());
    CHECK(r.remediation.rfind("The access key id in AWS_ACCESS_KEY_ID in the environment is "
                              "wrong: ",
                              0) == 0);
    CHECK(r.details["wrong_value"] == "AWS_ACCESS_KEY_ID in the environment");
    CHECK(r.summary.find("AWS_SECRET_ACCESS_KEY") == std::string::npos);
    check_no_secret(r);
  }
  SUBCASE("shared credentials file: wrong aws_secret_access_key of the profile") {
    CredentialEnv env({});
    std::string creds =
        dir.write("credentials", "[backup]\naws_access_key_id = " + w.backup.id +
                                     "\naws_secret_access_key = " + kTestSecret + "\n")
            .string();
    json q = p;
    q["credentials_file"] = creds;
    q["profile"] = "backup";
    auto r = run_check(plugin, "s3.auth", q);
    check_wrong_secret(r, "aws_access_key_id in " + creds + " [backup]",
                       "aws_secret_access_key in " + creds + " [backup]");
  }
}

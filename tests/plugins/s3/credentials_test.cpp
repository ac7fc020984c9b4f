// The credential chain in the AWS tools' order, with files and variables set up per test.
#include "credentials.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <backup_doctor/sdk.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>

using namespace backup_doctor::s3;

namespace {

// Sets (or unsets) environment variables for one test and restores them afterwards.
class EnvGuard {
 public:
  explicit EnvGuard(std::map<std::string, std::optional<std::string>> vars) {
    for (const char* name :
         {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
          "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
          "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"})
      if (!vars.count(name)) vars[name] = std::nullopt;
    for (const auto& [k, v] : vars) {
      const char* old = std::getenv(k.c_str());
      saved_[k] = old ? std::optional<std::string>(old) : std::nullopt;
      if (v)
        setenv(k.c_str(), v->c_str(), 1);
      else
        unsetenv(k.c_str());
    }
  }
  ~EnvGuard() {
    for (const auto& [k, v] : saved_) {
      if (v)
        setenv(k.c_str(), v->c_str(), 1);
      else
        unsetenv(k.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace

TEST_CASE("s3 credentials: parameters, environment, credentials file, config file") {
  backup_doctor::test::TempDir dir("bd-s3-creds");
  std::string creds = dir.write("credentials",
                                "# comment\n[default]\naws_access_key_id = AKIAFILEDEFAULT\n"
                                "aws_secret_access_key = file-default-secret\n"
                                "[backup]\naws_access_key_id=AKIAFILEBACKUP\n"
                                "aws_secret_access_key=file-backup-secret\n"
                                "aws_session_token=file-backup-token\n")
                          .string();
  std::string config = dir.write("config",
                                 "[default]\nregion = eu-west-1\n"
                                 "[profile backup]\nregion = eu-central-1\n"
                                 "s3 =\n  multipart_chunksize = 16MB\n"
                                 "[profile onlyconfig]\naws_access_key_id = AKIACONFIG\n"
                                 "aws_secret_access_key = config-secret\nregion = us-west-2\n"
                                 "[profile role]\nrole_arn = arn:aws:iam::1:role/x\n"
                                 "source_profile = default\n")
                           .string();
  EnvGuard env({{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config}});

  SUBCASE("explicit parameters win over everything") {
    EnvGuard e2({{"AWS_SHARED_CREDENTIALS_FILE", creds},
                 {"AWS_CONFIG_FILE", config},
                 {"AWS_ACCESS_KEY_ID", "AKIAENV"},
                 {"AWS_SECRET_ACCESS_KEY", "env-secret"}});
    CredentialQuery q;
    q.access_key_id = "AKIAPARAM";
    q.secret_access_key = "param-secret";
    auto r = resolve_credentials(q);
    REQUIRE(r.credentials);
    CHECK(r.credentials->access_key_id == "AKIAPARAM");
    CHECK(r.credentials->source == "check parameters");
    CHECK(resolve_region(std::nullopt, r) == "eu-west-1");
  }
  SUBCASE("a key id without its secret is an error, not a silent fallback") {
    CredentialQuery q;
    q.access_key_id = "AKIAPARAM";
    CHECK_THROWS_AS(resolve_credentials(q), backup_doctor::sdk::CheckError);
  }
  SUBCASE("environment before the files, with the session token") {
    EnvGuard e2({{"AWS_SHARED_CREDENTIALS_FILE", creds},
                 {"AWS_CONFIG_FILE", config},
                 {"AWS_ACCESS_KEY_ID", "AKIAENV"},
                 {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                 {"AWS_SESSION_TOKEN", "env-token"},
                 {"AWS_REGION", "ap-south-1"}});
    auto r = resolve_credentials({});
    REQUIRE(r.credentials);
    CHECK(r.credentials->access_key_id == "AKIAENV");
    CHECK(r.credentials->session_token == "env-token");
    CHECK(resolve_region(std::nullopt, r) == "ap-south-1");
    CHECK(resolve_region(std::string("sa-east-1"), r) == "sa-east-1");
  }
  SUBCASE("an explicit profile skips the environment, like aws --profile") {
    EnvGuard e2({{"AWS_SHARED_CREDENTIALS_FILE", creds},
                 {"AWS_CONFIG_FILE", config},
                 {"AWS_ACCESS_KEY_ID", "AKIAENV"},
                 {"AWS_SECRET_ACCESS_KEY", "env-secret"}});
    CredentialQuery q;
    q.profile = "backup";
    auto r = resolve_credentials(q);
    REQUIRE(r.credentials);
    CHECK(r.credentials->access_key_id == "AKIAFILEBACKUP");
    CHECK(r.credentials->session_token == "file-backup-token");
    CHECK(r.credentials->source == creds + " [backup]");
    CHECK(resolve_region(std::nullopt, r) == "eu-central-1");
  }
  SUBCASE("AWS_PROFILE selects the profile but the environment keys still come first") {
    EnvGuard e2({{"AWS_SHARED_CREDENTIALS_FILE", creds},
                 {"AWS_CONFIG_FILE", config},
                 {"AWS_PROFILE", "backup"}});
    auto r = resolve_credentials({});
    REQUIRE(r.credentials);
    CHECK(r.credentials->access_key_id == "AKIAFILEBACKUP");
  }
  SUBCASE("default profile from the credentials file") {
    auto r = resolve_credentials({});
    REQUIRE(r.credentials);
    CHECK(r.credentials->access_key_id == "AKIAFILEDEFAULT");
    CHECK(resolve_region(std::nullopt, r) == "eu-west-1");
  }
  SUBCASE("keys in the config file when the credentials file has none") {
    CredentialQuery q;
    q.profile = "onlyconfig";
    auto r = resolve_credentials(q);
    REQUIRE(r.credentials);
    CHECK(r.credentials->access_key_id == "AKIACONFIG");
    CHECK(r.credentials->source == config + " [profile onlyconfig]");
    CHECK(resolve_region(std::nullopt, r) == "us-west-2");
  }
  SUBCASE("a role profile is reported as unsupported, nothing found") {
    CredentialQuery q;
    q.profile = "role";
    auto r = resolve_credentials(q);
    CHECK_FALSE(r.credentials);
    CHECK(r.unsupported.find("role_arn") != std::string::npos);
    CHECK(r.unsupported.find("credential_process = aws configure export-credentials --profile "
                             "role --format process") != std::string::npos);
    CHECK(r.searched.size() == 2);
  }
  SUBCASE("explicit file parameters override the variables") {
    std::string other = dir.write("other",
                                  "[default]\naws_access_key_id=AKIAOTHER\n"
                                  "aws_secret_access_key=other-secret\n")
                            .string();
    CredentialQuery q;
    q.credentials_file = other;
    auto r = resolve_credentials(q);
    REQUIRE(r.credentials);
    CHECK(r.credentials->access_key_id == "AKIAOTHER");
  }
}

TEST_CASE("s3 credentials: a profile's credential_process, run without a shell") {
  backup_doctor::test::TempDir dir("bd-s3-proc");
  // A stand-in for aws-vault, granted and the like: prints what it is told to, or fails.
  std::string tool =
      dir.write("creds-tool",
                "#!/bin/sh\n"
                "case \"$1\" in\n"
                "  ok) printf '%s' '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", "
                "\"SecretAccessKey\": \"proc-secret-value\", \"SessionToken\": "
                "\"proc-token\", \"Expiration\": \"2999-01-01T00:00:00Z\"}' ;;\n"
                "  expired) printf '%s' '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", "
                "\"SecretAccessKey\": \"proc-secret-value\", \"Expiration\": "
                "\"2020-01-01T00:00:00Z\"}' ;;\n"
                "  v2) printf '%s' '{\"Version\": 2, \"AccessKeyId\": \"AKIAPROC\", "
                "\"SecretAccessKey\": \"proc-secret-value\"}' ;;\n"
                "  junk) echo 'Enter MFA code:' ;;\n"
                "  slow) sleep 5 ;;\n"
                "  *) echo \"session for $1 expired, log in again\" >&2; exit 1 ;;\n"
                "esac\n")
          .string();
  std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  std::string config =
      dir.write("config", "[profile ok]\ncredential_process = " + tool +
                              " ok\n"
                              "[profile spaced]\ncredential_process = \"" +
                              tool +
                              "\" 'ok'\n"
                              "[profile expired]\ncredential_process = " +
                              tool +
                              " expired\n"
                              "[profile v2]\ncredential_process = " +
                              tool +
                              " v2\n"
                              "[profile junk]\ncredential_process = " +
                              tool +
                              " junk\n"
                              "[profile slow]\ncredential_process = " +
                              tool +
                              " slow\n"
                              "[profile fails]\ncredential_process = " +
                              tool +
                              " prod\n"
                              "[profile subst]\ncredential_process = " +
                              tool +
                              " $(id)\n"
                              "[profile both]\ncredential_process = " +
                              tool +
                              " ok\n"
                              "aws_access_key_id = AKIACONFIG\naws_secret_access_key = s\n")
          .string();
  std::string creds = dir.write("credentials",
                                "[static]\naws_access_key_id = AKIASTATIC\n"
                                "aws_secret_access_key = static-secret\n")
                          .string();
  std::string config_static =
      dir.write("config-static", "[profile static]\ncredential_process = " + tool + " ok\n")
          .string();
  EnvGuard env({{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config}});
  auto resolve = [](const std::string& profile) {
    CredentialQuery q;
    q.profile = profile;
    q.process_timeout = std::chrono::milliseconds(1000);
    return resolve_credentials(q);
  };
  auto error_of = [&](const std::string& profile) {
    try {
      resolve(profile);
    } catch (const backup_doctor::sdk::CheckError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };

  SUBCASE("the JSON it prints becomes the credentials, session token included") {
    for (const char* profile : {"ok", "spaced"}) {
      CAPTURE(profile);
      auto r = resolve(profile);
      REQUIRE(r.credentials);
      CHECK(r.credentials->access_key_id == "AKIAPROC");
      CHECK(r.credentials->secret_access_key == "proc-secret-value");
      CHECK(r.credentials->session_token == "proc-token");
      CHECK(r.credentials->source ==
            "credential_process of " + config + " [profile " + profile + "]");
    }
  }
  SUBCASE("order: credentials-file keys, then credential_process, then config-file keys") {
    CHECK(resolve("both").credentials->access_key_id == "AKIAPROC");
    EnvGuard other({{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config_static}});
    CHECK(resolve("static").credentials->access_key_id == "AKIASTATIC");
  }
  SUBCASE("failures name the profile and what went wrong, never the secret it printed") {
    std::string failed = error_of("fails");
    CHECK(failed.find("[profile fails]: credential_process exit code 1") != std::string::npos);
    CHECK(failed.find("session for prod expired, log in again") != std::string::npos);
    CHECK(error_of("expired").find("expired at 2020-01-01T00:00:00Z") != std::string::npos);
    CHECK(error_of("v2").find("without \"Version\": 1") != std::string::npos);
    CHECK(error_of("junk").find("printed no JSON object") != std::string::npos);
    CHECK(error_of("slow").find("timed out") != std::string::npos);
    CHECK(error_of("subst").find("without a shell") != std::string::npos);
    for (const char* profile : {"fails", "expired", "v2", "junk", "slow", "subst"})
      CHECK(error_of(profile).find("proc-secret-value") == std::string::npos);
  }
}

TEST_CASE("s3 credentials: config files are opened safely, and only root's may run a program") {
  backup_doctor::test::TempDir dir("bd-s3-trust");
  const uid_t other = 999;  // backup-doctor-test (scripts/setup)
  std::string marker = (dir.path() / "ran").string();
  std::string tool =
      dir.write("tool", "#!/bin/sh\ntouch " + marker +
                            "\nprintf '%s' '{\"Version\": 1, \"AccessKeyId\": \"AKIAP\", "
                            "\"SecretAccessKey\": \"s\"}'\n")
          .string();
  std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  std::string empty = dir.write("credentials", "").string();
  auto resolve_with = [&](const std::string& config) {
    CredentialQuery q;
    q.profile = "p";
    q.config_file = config;
    q.credentials_file = empty;
    return resolve_credentials(q);
  };
  auto error_of = [&](const std::string& config) {
    try {
      resolve_with(config);
    } catch (const backup_doctor::sdk::CheckError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const std::string body = "[profile p]\ncredential_process = " + tool + "\n";

  SUBCASE("a config another account owns names no program that runs as root") {
    std::string theirs = dir.write("theirs", body).string();
    REQUIRE(::chown(theirs.c_str(), other, other) == 0);
    std::string e = error_of(theirs);
    CHECK(e.find("credential_process was not run") != std::string::npos);
    CHECK(e.find("owned by backup-doctor-test") != std::string::npos);
    CHECK(e.find("chown root:") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(marker));
  }
  SUBCASE("root's config in a directory another account owns can be swapped: not run either") {
    auto sub = dir.path() / "theirs-dir";
    std::filesystem::create_directory(sub);
    REQUIRE(::chown(sub.c_str(), other, other) == 0);
    std::string config = (sub / "config").string();
    dir.write("theirs-dir/config", body);
    CHECK(error_of(config).find("credential_process was not run") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(marker));
  }
  SUBCASE("root's own config runs the program; a link root made to it is followed") {
    std::string config = dir.write("config", body).string();
    std::filesystem::create_symlink(config, dir.path() / "link");
    REQUIRE(resolve_with((dir.path() / "link").string()).credentials);
    CHECK(std::filesystem::exists(marker));
  }
  SUBCASE("a link another account made, or a FIFO, is refused at once") {
    std::string config = dir.write("config", body).string();
    auto link = dir.path() / "their-link";
    std::filesystem::create_symlink(config, link);
    REQUIRE(::lchown(link.c_str(), other, other) == 0);
    CHECK(error_of(link.string()).find("symbolic link") != std::string::npos);
    auto fifo = dir.path() / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    auto started = std::chrono::steady_clock::now();
    CHECK(error_of(fifo.string()).find("FIFO") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  }
  SUBCASE("a program another account can change is not run as root") {
    std::string theirs_tool = dir.write("their-tool", "#!/bin/sh\ntouch " + marker + "\n").string();
    std::filesystem::permissions(
        theirs_tool, std::filesystem::perms::owner_all | std::filesystem::perms::others_exec);
    REQUIRE(::chown(theirs_tool.c_str(), other, other) == 0);
    std::string config =
        dir.write("config2", "[profile p]\ncredential_process = " + theirs_tool + "\n").string();
    std::string e = error_of(config);
    CHECK(e.find(theirs_tool + " was not run") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(marker));
  }
}

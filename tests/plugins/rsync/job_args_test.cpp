#include "job_args.hpp"

#include <doctest/doctest.h>
#include <backup_doctor/sdk.hpp>

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

TEST_CASE("options that are not a client job are refused") {
  CHECK_THROWS_AS(filter_job_args({"--server", "--sender"}), backup_doctor::sdk::CheckError);
  CHECK_THROWS_AS(filter_job_args({"--daemon"}), backup_doctor::sdk::CheckError);
}

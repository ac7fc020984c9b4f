#include "exit_codes.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using backup_doctor::rsync::describe_exit_code;
using backup_doctor::sdk::Status;

TEST_CASE("every documented rsync exit code has its own diagnosis") {
  std::set<std::string> names;
  for (int code : {1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 25, 30, 35}) {
    auto info = describe_exit_code(code);
    CAPTURE(code);
    CHECK(info.code == code);
    CHECK(std::string(info.name) != "unknown_exit_code");
    CHECK(std::string(info.advice).size() > 40);
    names.insert(info.name);
  }
  CHECK(names.size() == 19);  // no two codes share a diagnosis
}

TEST_CASE("exit code severities") {
  CHECK(describe_exit_code(0).status == Status::ok);
  CHECK(describe_exit_code(23).status == Status::fail);
  CHECK(describe_exit_code(24).status == Status::warn);  // vanished files: normal on live trees
  CHECK(describe_exit_code(25).status == Status::warn);
  CHECK(describe_exit_code(30).status == Status::fail);
  CHECK(std::string(describe_exit_code(1).name) == "syntax_error");
  CHECK(std::string(describe_exit_code(3).name) == "file_selection_error");
  CHECK(std::string(describe_exit_code(5).name) == "protocol_start_error");
  CHECK(std::string(describe_exit_code(10).name) == "socket_io_error");
  CHECK(std::string(describe_exit_code(11).name) == "file_io_error");
  CHECK(std::string(describe_exit_code(12).name) == "protocol_stream_error");
  CHECK(std::string(describe_exit_code(23).name) == "partial_transfer");
  CHECK(std::string(describe_exit_code(24).name) == "vanished_source_files");
  CHECK(std::string(describe_exit_code(30).name) == "io_timeout");
  CHECK(std::string(describe_exit_code(35).name) == "daemon_connect_timeout");
  CHECK(std::string(describe_exit_code(255).name) == "remote_shell_error");
}

TEST_CASE("an undocumented exit code is still a failure, with its number") {
  auto info = describe_exit_code(77);
  CHECK(info.code == 77);
  CHECK(info.status == Status::fail);
  CHECK(std::string(info.name) == "unknown_exit_code");
}

// Runs part of a test in a forked child and brings its result back as JSON: for tests that must
// change something process-wide (enter a private mount or network namespace) without touching
// the test runner itself. The child never runs doctest assertions; it returns what it saw.
#pragma once

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <exception>
#include <functional>
#include <string>

namespace backup_doctor::test {

// Calls `body` in a child process and returns the JSON it returned; an exception in the child
// comes back as {"child_exception": "<what>"}.
inline nlohmann::json run_in_child(const std::function<nlohmann::json()>& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    nlohmann::json out;
    try {
      out = body();
    } catch (const std::exception& e) {
      out = {{"child_exception", e.what()}};
    }
    std::string text = out.dump();
    for (size_t done = 0; done < text.size();) {
      ssize_t n = ::write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) ::_exit(1);
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return nlohmann::json::parse(text);
}

}  // namespace backup_doctor::test

#include "process_tree.hpp"

#include "support/child.hpp"

#include <doctest/doctest.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <csignal>
#include <string>

using namespace backup_doctor;

namespace {
// A chain of `n` processes, each in a process group of its own, each the parent of the next, all
// sleeping: what a program bent on outliving its check can leave. Returns once the last one is
// there.
void start_chain(int n) {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  if (fork() == 0) {
    close(ready[0]);
    bool last = true;
    for (int i = 1; i < n; ++i) {
      setpgid(0, 0);  // out of the check's process group (setsid too, but slow to make here)
      if (fork() != 0) {
        last = false;  // the parent of the next one stays, and sleeps
        break;
      }
    }
    if (last && write(ready[1], "x", 1) != 1) _exit(1);
    close(ready[1]);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);
  close(ready[0]);
}
}  // namespace

TEST_CASE("a long chain of processes, each its own process group, dies in one sweep") {
  auto seen = test::run_in_child([] {
    become_subreaper();
    start_chain(100);
    Sweep sweep = kill_children_except({});
    return nlohmann::json{{"complete", sweep.complete},
                          {"killed", sweep.killed},
                          {"rounds", sweep.rounds},
                          {"children_left", child_processes().size()},
                          {"any_child", has_children()}};
  });
  CHECK(seen["complete"] == true);
  CHECK(seen["killed"].get<size_t>() == 100);
  // Not one round per generation (100 here; a chain long enough would outlast any patience):
  // the whole tree is killed at once, and what is re-parented as it dies is reaped in a few
  // more rounds (how many depends on how fast the kernel tears the chain down: 1-5 seen).
  CHECK(seen["rounds"].get<size_t>() <= 20);
  CHECK(seen["children_left"] == 0);
  CHECK(seen["any_child"] == false);
}

TEST_CASE("no children: has_children says so without looking at /proc") {
  auto seen = test::run_in_child([] {
    bool before = has_children();
    pid_t p = fork();
    if (p == 0) _exit(0);
    bool during = has_children();  // alive or a zombie, it is a child until reaped
    Sweep s = kill_children_except({});
    return nlohmann::json{{"before", before},
                          {"during", during},
                          {"after", has_children()},
                          {"complete", s.complete}};
  });
  CHECK(seen["before"] == false);
  CHECK(seen["during"] == true);
  CHECK(seen["after"] == false);
  CHECK(seen["complete"] == true);
}

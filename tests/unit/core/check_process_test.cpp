#include "check_process.hpp"

#include <doctest/doctest.h>
#include <thread>

using namespace backup_doctor;

TEST_CASE("a check process runs the plugin in a child and collects its result") {
  static PluginRegistry reg = PluginRegistry::load({BD_FIXTURE_PLUGIN_DIR});
  PlannedCheck c;
  c.spec.id = "one";
  c.spec.use = "abi_v1.hello";
  c.plugin = reg.plugin_for(c.spec.use);
  REQUIRE(c.plugin);
  Scrubber s;
  CheckProcess p(c, s);
  CHECK(p.pid() != getpid());
  while (!p.poll_exit()) {
    if (p.message_fd() >= 0) p.read_available(p.message_fd());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto r = p.result();
  CHECK(r.status == Status::ok);
  CHECK(r.summary == "hello from a 1.0 plugin");
  CHECK(r.details["abi"] == "1.0");
  CHECK(r.plugin == "abi_v1");
  REQUIRE(r.metrics.size() == 1);
  CHECK(r.metrics[0].name == "hello");
}

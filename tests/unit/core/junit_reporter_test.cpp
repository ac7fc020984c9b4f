#include "reporters/reporter.hpp"
#include "sample_report.hpp"
#include "support/temp_dir.hpp"

#include <backup_doctor/support/process.hpp>

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("JUnit output validates against the JUnit schema with xmllint") {
  test::TempDir dir;
  auto file = dir.write("junit.xml", render_junit(test::sample_report()));
  auto r = support::run_process({"xmllint", "--noout", "--schema", BD_JUNIT_XSD, file.string()});
  INFO(r.err);
  REQUIRE(r.started);
  CHECK(r.exit_code == 0);
}

TEST_CASE("JUnit output maps statuses to failure, error and skipped") {
  auto xml = render_junit(test::sample_report());
  CHECK(xml.find("<testsuite name=\"nightly &lt;prod&gt; &amp; &quot;co&quot;\" tests=\"5\" "
                 "failures=\"1\" errors=\"1\" skipped=\"1\"") != std::string::npos);
  CHECK(xml.find("<testcase name=\"db-fresh\" classname=\"files.freshness\" time=\"0.012\">\n      "
                 "<failure message=\"newest *.sql.gz is 3d old (limit 25h)\"") !=
        std::string::npos);
  CHECK(xml.find("<error message=\"the check crashed\"") != std::string::npos);
  CHECK(xml.find("<skipped message=") != std::string::npos);
  CHECK(xml.find("<system-out>WARNING: 2 error lines") != std::string::npos);
}

TEST_CASE("a broken JUnit document is caught by the same validation") {
  // Guards the test above: xmllint must really reject what is not JUnit.
  test::TempDir dir;
  auto file = dir.write("bad.xml",
                        "<testsuites><testsuite name=\"x\"><testcase/></testsuite></testsuites>");
  auto r = support::run_process({"xmllint", "--noout", "--schema", BD_JUNIT_XSD, file.string()});
  CHECK(r.exit_code != 0);
}

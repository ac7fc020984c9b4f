#include "fixtures.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::test::pg;
using backup_doctor::sdk::Status;

namespace {

bool has_grant(const backup_doctor::testing::Result& r, const std::string& stmt) {
  for (const auto& g : r.details["grants"])
    if (g == stmt) return true;
  return false;
}

}  // namespace

TEST_CASE("pg.privileges") {
  PgServer& s = main_server();

  SUBCASE("a role with every grant") {
    auto r = run("pg.privileges", s.tcp(kBackupUser, kBackupPw, "trixtech"));
    CHECK(r.status == Status::ok);
    CHECK(r.details["tables_checked"] == 4);
    CHECK(r.details["sequences_checked"] == 5);  // 4 serial sequences + booking.ticket_seq
    CHECK(r.metric("pg_privileges_missing")->value == 0);
  }
  SUBCASE("pg_read_all_data covers tables, sequences and schemas") {
    auto r = run("pg.privileges", s.tcp(kReader, kReaderPw, "trixtech"));
    CHECK(r.status == Status::ok);
    CHECK(r.details["pg_read_all_data"] == true);
  }
  SUBCASE("partial grants: exact GRANT statements for what is missing") {
    auto r = run("pg.privileges", s.tcp(kPartial, kPartialPw, "trixtech"));
    REQUIRE(r.status == Status::fail);
    CHECK(r.details["missing_schema_usage"] == nlohmann::json::array({"booking"}));
    CHECK(r.details["missing_table_count"] == 3);
    CHECK(r.details["missing_sequence_count"] == 5);
    CHECK(has_grant(r, "GRANT USAGE ON SCHEMA booking TO backup_partial;"));
    CHECK(has_grant(r, "GRANT SELECT ON public.bookings TO backup_partial;"));  // users is granted
    CHECK(has_grant(r, "GRANT SELECT ON ALL TABLES IN SCHEMA booking TO backup_partial;"));
    CHECK(has_grant(r, "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO backup_partial;"));
    CHECK(r.remediation.find("GRANT pg_read_all_data TO backup_partial;") != std::string::npos);
    CHECK(
        r.summary.find("USAGE on 1 schema(s), SELECT on 3 table(s) and SELECT on 5 sequence(s)") !=
        std::string::npos);
  }
  SUBCASE("the GRANT statements it gives are exactly enough") {
    s.exec(
        "DROP ROLE IF EXISTS fixme; CREATE ROLE fixme LOGIN; GRANT SELECT ON public.users TO fixme",
        "trixtech");
    auto params = s.superuser("trixtech");
    params["role"] = "fixme";
    auto before = run("pg.privileges", params);
    REQUIRE(before.status == Status::fail);
    for (const auto& g : before.details["grants"]) s.exec(g.get<std::string>(), "trixtech");
    auto after = run("pg.privileges", params);
    CHECK(after.status == Status::ok);
    s.exec("DROP OWNED BY fixme; DROP ROLE fixme", "trixtech");
  }
  SUBCASE("no CONNECT: the role cannot even get in") {
    auto r = run("pg.privileges", s.tcp(kNoGrants, kNoGrantsPw, "trixtech"));
    CHECK(r.status == Status::fail);
    CHECK(r.details["failure_kind"] == "no_connect_privilege");
    CHECK(r.remediation.find("GRANT CONNECT ON DATABASE trixtech TO backup_nogrants;") !=
          std::string::npos);
  }
  SUBCASE("no grants at all, checked through an administrator's connection") {
    auto params = s.superuser("trixtech");
    params["role"] = kNoGrants;
    auto r = run("pg.privileges", params);
    REQUIRE(r.status == Status::fail);
    CHECK(r.details["connect"] == false);
    CHECK(has_grant(r, "GRANT CONNECT ON DATABASE trixtech TO backup_nogrants;"));
    CHECK(has_grant(r, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO backup_nogrants;"));
    CHECK(has_grant(r, "GRANT SELECT ON ALL SEQUENCES IN SCHEMA booking TO backup_nogrants;"));
  }
  SUBCASE("lists are capped at max_items, counts are not") {
    auto params = s.superuser("trixtech");
    params["role"] = kNoGrants;
    params["max_items"] = 1;
    auto r = run("pg.privileges", params);
    CHECK(r.details["missing_tables"].size() == 1);
    CHECK(r.details["missing_table_count"] == 4);
  }
  SUBCASE("schemas narrows the check") {
    auto params = s.tcp(kPartial, kPartialPw, "trixtech");
    params["schemas"] = {"public"};
    auto r = run("pg.privileges", params);
    CHECK(r.details["schemas_checked"] == 1);
    CHECK(r.details["missing_table_count"] == 1);
  }
  SUBCASE("row-level security blocks pg_dump even with pg_read_all_data") {
    auto r = run("pg.privileges", s.tcp(kReader, kReaderPw, "rlsdb"));
    CHECK(r.status == Status::fail);
    CHECK(r.details["rls_tables"] == nlohmann::json::array({"public.payments"}));
    CHECK(r.remediation.find("ALTER ROLE backup_reader BYPASSRLS;") != std::string::npos);
    auto params = s.tcp(kReader, kReaderPw, "rlsdb");
    params["check_rls"] = false;
    CHECK(run("pg.privileges", params).status == Status::ok);
  }
  SUBCASE("a superuser can dump everything") {
    CHECK(run("pg.privileges", s.superuser("trixtech")).status == Status::ok);
  }
}

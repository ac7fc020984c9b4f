#include "init/shell_expand.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor::init;

namespace {
Expanded expand(const std::string& word, ShellEnvironment& env) {
  return expand_word(parse_shell("x " + word).commands.at(0).words.at(1), env);
}
}  // namespace

TEST_CASE("variables assigned earlier, defaults and dates become text or patterns") {
  ShellEnvironment env;
  env.vars["DIR"] = {"/opt/backups", true};
  env.vars["DB"] = {"trixtech", true};
  env.homes["backup"] = "/home/backup";
  env.vars["HOME"] = {"/root", true};

  Expanded e = expand("\"$DIR/${DB}_$(date +%Y%m%d).sql.gz\"", env);
  CHECK(e.text == "/opt/backups/trixtech_????????.sql.gz");
  CHECK_FALSE(e.exact);
  CHECK(expand("${MISSING:-/var/backups}/x", env).text == "/var/backups/x");
  CHECK(expand("${DB:+set}", env).text == "set");
  CHECK(expand("${DB%tech}", env).text == "trix");
  CHECK(expand("~backup/.pgpass", env).text == "/home/backup/.pgpass");
  CHECK(expand("~/x", env).text == "/root/x");
  CHECK(expand("$(basename /a/b/c.sh .sh)", env).text == "c");
  CHECK(expand("`dirname $DIR/x`", env).text == "/opt/backups");

  Expanded unknown = expand("$TARGET/$(hostname)-$$.tar", env);
  CHECK(unknown.text == "*/*-*.tar");
  CHECK(unknown.unknown == std::vector<std::string>{"$TARGET", "$(hostname)", "$$"});

  expand("${NEW:=/srv/new}", env);
  REQUIRE(env.find("NEW"));
  CHECK(env.find("NEW")->text == "/srv/new");
}

TEST_CASE("date formats as globs") {
  CHECK(date_format_glob("%F") ==
        "????"
        "-"
        "??"
        "-"
        "??");
  CHECK(date_format_glob("%Y%m%d-%H%M") ==
        "????????"
        "-"
        "????");
  CHECK(date_format_glob("%s") == "*");
  CHECK(date_format_glob("%A_%e") == "*_*");
  CHECK(date_format_glob("100%%") == "100%");
}

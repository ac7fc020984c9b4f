// One function per kind of backup step, each writing the checks the runbook asks of it.
#include "init/checklist_builder.hpp"
#include "init/words.hpp"

#include <algorithm>

namespace backup_doctor::init {
namespace {

using json = nlohmann::ordered_json;
using Job = ChecklistBuilder::Job;
using Kind = BackupStep::Kind;

std::string underscored(std::string s) {
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

struct Place {
  std::string dir;      // "${db_backup_dir}"
  std::string pattern;  // "${db_backup_pattern}"
  std::string glob;     // "${db_backup_dir}/${db_backup_pattern}"
};

// Where a step writes, as a directory var and a file-name pattern var; nothing when even the
// directory is unknown (then it is noted).
std::optional<Place> output_place(ChecklistBuilder& b, const Job& job, const BackupStep& step,
                                  const std::string& what) {
  if (!step.output) {
    b.note(step.origin.where(),
           step.program +
               ": where it writes could not be worked out (to a pipe init does not follow)");
    return std::nullopt;
  }
  const std::string& p = step.output->text;
  const size_t slash = p.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : p.substr(0, slash);
  if (dir.empty() || dir[0] != '/' || dir.find_first_of("*?[") != std::string::npos) {
    std::string why = step.output->unknown.empty() ? p : step.output->unknown.front();
    b.note(step.origin.where(), step.program + " writes to '" + p +
                                    "', a directory init cannot work out (" + why +
                                    "); its backups are not checked: set the path by hand");
    return std::nullopt;
  }
  Place place;
  place.dir = b.job_var(job, job.prefix + "_" + underscored(what) + "_dir", b.local(dir));
  place.pattern = b.var(job.prefix + "_" + underscored(what) + "_pattern", p.substr(slash + 1));
  place.glob = place.dir + "/" + place.pattern;
  return place;
}

json after_log(const Job& job) {
  json extra = json::object();
  if (!job.log_check.empty()) extra["after"] = json::array({job.log_check});
  return extra;
}

// Checks every file-writing step gets: the directory, freshness, room, leftovers, access.
void add_output_checks(ChecklistBuilder& b, const Job& job, const BackupStep& step,
                       const Place& place, const std::string& what, const std::string& noun) {
  // A second step writing to the same directory shares its directory checks.
  const std::string dir_id = b.first_check_of_dir(job, place.dir, job.id + "-" + what + "-dir");
  const bool first = dir_id == job.id + "-" + what + "-dir";
  if (first)
    b.add_check(job, what + "-dir", "files.exists", {{"path", place.dir}, {"type", "dir"}},
                "The directory the " + noun + " is written to exists", &step);
  json fresh = {
      {"path", place.dir},      {"pattern", place.pattern}, {"exclude", {"*.tmp", "*.partial"}},
      {"max_age", job.max_age}, {"min_ratio", 0.5},         {"history", 5}};
  json extra = after_log(job);
  extra["needs"] = json::array({dir_id});
  b.add_check(job, what + "-fresh", "files.freshness", fresh,
              "The newest " + noun +
                  " is younger than the schedule allows and not much smaller than the ones before",
              &step, extra);
  if (!first) return;
  b.add_check(job, what + "-disk-room", "resources.disk",
              {{"path", place.dir}, {"backup_glob", place.glob}},
              "The disk the " + noun + " is written to has room for the next one", &step,
              {{"needs", {dir_id}}});
  b.add_check(job, what + "-leftovers", "archive.leftovers",
              {{"paths", {place.dir}}, {"min_age", "6h"}},
              "No temporary or partial files of interrupted runs are left beside the " + noun,
              &step, {{"needs", {dir_id}}, {"severity", "warning"}});
  if (job.user != "root")
    b.add_check(job, what + "-dir-writable", "files.access",
                {{"path", place.dir}, {"user", job.user_var}, {"access", {"read", "write"}}},
                "The account the job runs as can write the " + noun + " directory", &step,
                {{"needs", {dir_id}}});
}

bool has_checksum(const Job& job, const BackupStep& step) {
  for (const auto& s : job.traced->steps) {
    if (s.kind != Kind::checksum) continue;
    for (const auto& src : s.sources) {
      if (step.output && (src.text == step.output->text)) return true;
    }
  }
  return false;
}

void add_verify_check(ChecklistBuilder& b, const Job& job, const BackupStep& step,
                      const Place& place, const std::string& what, const std::string& noun) {
  json with = {{"path", place.dir}, {"pattern", place.pattern}};
  if (has_checksum(job, step)) with["require_checksum"] = true;
  json extra = after_log(job);
  extra["needs"] =
      json::array({b.first_check_of_dir(job, place.dir, job.id + "-" + what + "-dir")});
  extra["timeout"] = "30m";
  b.add_check(job, what + "-intact", "archive.verify", with,
              "The newest " + noun + " decompresses to its end" +
                  std::string(with.contains("require_checksum") ? " and matches its checksum" : ""),
              &step, extra);
}

void add_pg_checks(ChecklistBuilder& b, const Job& job, const BackupStep& step) {
  json conn = b.pg_connection(job, step);
  const std::string connect = b.check_id(job, "db-connect");
  b.add_check(job, "db-connect", "pg.connect", conn,
              "The database server accepts the job's connection", &step);
  auto host = step.connection.find("host");
  b.pg_uses.push_back({conn, connect, host == step.connection.end() ? "" : host->second.text});
  b.add_check(job, "db-role", "pg.role", conn,
              "The backup role may log in and its password is not about to expire", &step,
              {{"needs", {connect}}});
  if (step.kind == Kind::database_dump && conn.contains("dbname"))
    b.add_check(job, "db-privileges", "pg.privileges", conn,
                "The backup role can read everything pg_dump reads", &step, {{"needs", {connect}}});
  b.add_check(job, "dump-tools", "pg.dump_compat", conn,
              "The local pg_dump is compatible with the server", &step, {{"needs", {connect}}});
}

void add_dump_checks(ChecklistBuilder& b, const Job& job, const BackupStep& step) {
  add_pg_checks(b, job, step);
  if (step.removed) {
    b.note(
        step.origin.where(),
        step.program + "'s output is deleted later in the script; its checks are on what follows");
    return;
  }
  const std::string what = b.step_name(job, "dump");
  auto place = output_place(b, job, step, what);
  if (!place) return;
  add_output_checks(b, job, step, *place, what, "dump");
  json extra = after_log(job);
  extra["needs"] =
      json::array({b.first_check_of_dir(job, place->dir, job.id + "-" + what + "-dir")});
  extra["timeout"] = "10m";
  b.add_check(job, what + "-usable", "pg.dump_verify",
              {{"path", place->dir}, {"pattern", place->pattern}},
              "The newest dump is complete and readable by pg_restore", &step, extra);
  if (!step.compression.empty() && step.compression != "pg_dump")
    add_verify_check(b, job, step, *place, what, "dump");
}

void add_archive_checks(ChecklistBuilder& b, const Job& job, const BackupStep& step) {
  if (step.removed) return;
  const std::string what = b.step_name(job, "archive");
  auto place = output_place(b, job, step, what);
  if (!place) return;
  add_output_checks(b, job, step, *place, what, "archive");
  add_verify_check(b, job, step, *place, what, "archive");
  // compare_source lists, as root, the source's files missing from the archive: a source the
  // script's owner cannot read (`tar czf x.tgz /root`) would have their names shown to it.
  if (step.sources.size() == 1 && step.sources[0].exact &&
      !b.host().owner_can_read(step.sources[0].text, step.origin.file)) {
    b.note(step.origin.where(), "tar archives " + step.sources[0].text + ", which the owner of " +
                                    step.origin.file +
                                    " cannot read; the archive is not compared with it");
  } else if (step.sources.size() == 1 && step.sources[0].exact) {
    // After, not needs: a checksum mismatch leaves the archive readable, and what it lacks is
    // still worth knowing; shown under the damage when there is some.
    json extra = {{"after", {job.id + "-" + what + "-intact"}}, {"timeout", "30m"}};
    b.add_check(job, what + "-matches-source", "archive.compare_source",
                {{"path", place->dir},
                 {"pattern", place->pattern},
                 {"source", b.var(job.prefix + "_" + underscored(what) + "_source",
                                  b.local(step.sources[0].text))}},
                "Every file of the source is in the newest archive", &step, extra);
  } else if (step.sources.size() > 1) {
    b.note(step.origin.where(),
           "tar archives several sources; the archive is not compared with them");
  }
}

std::optional<std::string> identity_and_port(const BackupStep& step, std::string& port,
                                             std::string& known_hosts) {
  auto it = step.connection.find("rsh");
  if (it == step.connection.end()) return std::nullopt;
  std::optional<std::string> identity;
  ShellScript s = parse_shell(it->second.text);
  if (s.commands.empty()) return std::nullopt;
  const auto& words = s.commands[0].words;
  // The values are put into the dry run's `ssh ...` command line, which is split at blanks: a
  // value with a blank or a quote ("/k -oProxyCommand=...") would be options of its own.
  auto one_word = [](const std::string& v) {
    return !v.empty() && v[0] != '-' && v.find_first_of(" \t\n'\"\\") == std::string::npos;
  };
  for (size_t i = 1; i + 1 < words.size(); ++i) {
    const std::string value = words[i + 1].literal();
    if (!one_word(value)) continue;
    if (words[i].literal() == "-p") port = value;
    if (words[i].literal() == "-i") identity = value;
    const std::string option = words[i].literal() == "-o" ? value : "";
    if (option.starts_with("UserKnownHostsFile=")) known_hosts = option.substr(19);
  }
  return identity;
}

void add_rsync_checks(ChecklistBuilder& b, const Job& job, const BackupStep& step) {
  if (step.sources.size() != 1 || !step.destination || !step.sources[0].exact ||
      !step.destination->exact) {
    b.note(step.origin.where(),
           "rsync with sources or a destination init cannot work out; not checked");
    return;
  }
  const std::string dest_text = step.destination->text;
  const bool remote = dest_text.find(':') != std::string::npos && dest_text[0] != '/';
  const std::string source =
      b.job_var(job, job.prefix + "_rsync_source", b.local(step.sources[0].text));
  const std::string dest =
      b.var(job.prefix + "_rsync_destination", remote ? dest_text : b.local(dest_text));
  // The job's options, less its -e (rebuilt below from vars, never prompting).
  json args = json::array();
  for (size_t i = 0; i < step.args.size(); ++i) {
    if (step.args[i] == "-e" || step.args[i] == "--rsh")
      ++i;
    else if (!step.args[i].starts_with("--rsh="))
      args.push_back(literal_text(step.args[i]));
  }
  if (args.empty()) args.push_back("-a");
  // The dry run runs as the account this rsync runs as (`sudo -u backup rsync` in a root job).
  const std::string account = runs_as(*job.traced, step);
  const std::string user = account == "root" ? ""
                           : account == job.user
                               ? job.user_var
                               : b.job_var(job, job.prefix + "_rsync_user", account);
  if (remote) {
    std::string port, known_hosts;
    json with = {{"destination", dest}};
    std::string ssh = "ssh";
    if (auto id = identity_and_port(step, port, known_hosts)) {
      with["identity_file"] = b.job_var(job, job.prefix + "_ssh_key", b.local(*id));
      ssh += " -i " + with["identity_file"].get<std::string>() + " -o IdentitiesOnly=yes";
    }
    if (!port.empty()) {
      with["port"] = b.job_var(job, job.prefix + "_ssh_port", port);
      ssh += " -p " + with["port"].get<std::string>();
    }
    if (!known_hosts.empty()) {
      with["known_hosts_file"] = b.job_var(job, job.prefix + "_known_hosts", b.local(known_hosts));
      ssh += " -o UserKnownHostsFile=" + with["known_hosts_file"].get<std::string>();
    }
    args.push_back("-e");
    args.push_back(ssh + " -o BatchMode=yes");
    if (!user.empty()) with["run_as"] = user;
    b.add_check(
        job, "rsync-remote", "rsync.remote", with,
        "The remote destination answers over ssh without prompts, is writable and has rsync",
        &step);
  } else {
    json with = {{"source", source}, {"destination", dest}};
    if (!user.empty()) with["backup_user"] = user;
    b.add_check(job, "rsync-paths", "rsync.paths", with,
                "Source and destination exist, the job's account can use them, and the destination "
                "has room",
                &step);
  }
  json dry = {{"source", source}, {"destination", dest}, {"args", args}};
  if (!user.empty()) dry["run_as"] = user;
  json extra = {{"needs", {job.id + (remote ? "-rsync-remote" : "-rsync-paths")}},
                {"timeout", "15m"}};
  b.add_check(job, "rsync-dry-run", "rsync.dry_run", dry,
              "The job's rsync command, as a dry run, would succeed", &step, extra);
  b.add_check(job, "rsync-open-files", "rsync.open_files", {{"source", source}},
              "No process is writing files under the source while it is copied", &step,
              {{"severity", "warning"}});
}

void add_s3_checks(ChecklistBuilder& b, const Job& job, const BackupStep& step) {
  const std::string url = step.destination ? step.destination->text : "";
  const std::string rest = url.size() > 5 ? url.substr(5) : "";
  const std::string bucket = rest.substr(0, rest.find('/'));
  if (bucket.empty() || bucket.find_first_of("*?[") != std::string::npos) {
    b.note(step.origin.where(),
           "an S3 upload to a bucket init cannot work out (" + url + "); not checked");
    return;
  }
  std::string prefix = rest.find('/') == std::string::npos ? "" : rest.substr(rest.find('/') + 1);
  if (prefix.find_first_of("*?[") != std::string::npos)
    prefix = prefix.substr(0, prefix.find_first_of("*?["));
  if (!prefix.empty() && prefix.back() != '/' && prefix.find('/') != std::string::npos &&
      !step.args.empty())
    prefix += "/";
  json base = {{"bucket", b.var(job.prefix + "_bucket", bucket)}};
  if (auto it = step.connection.find("endpoint-url"); it != step.connection.end()) {
    std::string endpoint = it->second.text, why;
    if (without_password(endpoint, why))
      b.note(step.origin.where(), "the S3 endpoint " + why + "; it was left out of the checklist");
    base["endpoint"] = b.var(job.prefix + "_s3_endpoint", endpoint);
  }
  base["region"] =
      b.var(job.prefix + "_s3_region",
            step.connection.count("region") ? step.connection.at("region").text : "us-east-1");
  if (auto it = step.connection.find("profile"); it != step.connection.end())
    base["profile"] = b.var(job.prefix + "_s3_profile", it->second.text);
  const std::string home = job.traced->home;
  if (!home.empty() && b.host().is_file(home + "/.aws/credentials"))
    base["credentials_file"] =
        b.var(job.prefix + "_aws_credentials", b.local(home + "/.aws/credentials"));
  for (const auto& src : step.sources) {
    if (!src.exact)
      b.note(step.origin.where(),
             "the upload's local file '" + src.text +
                 "' is a pattern, so the uploaded copy is not compared with it "
                 "(s3.object_matches needs one file: add it by hand with local_path)");
  }
  const std::string reach = job.id + "-s3-reachable", auth = job.id + "-s3-auth";
  json reachable = {{"bucket", base["bucket"]}, {"region", base["region"]}};
  if (base.contains("endpoint")) reachable["endpoint"] = base["endpoint"];
  b.add_check(job, "s3-reachable", "s3.reachable", reachable, "The S3 endpoint answers", &step);
  b.add_check(job, "s3-auth", "s3.auth", base, "The job's S3 credentials are accepted", &step,
              {{"needs", {reach}}});
  json fresh = base;
  fresh["prefix"] = b.var(job.prefix + "_s3_prefix", prefix);
  fresh["max_age"] = job.max_age;
  b.add_check(job, "s3-fresh", "s3.freshness", fresh,
              "The newest uploaded backup is younger than the schedule allows", &step,
              {{"needs", {auth}}});
  // One local file uploaded: the newest object (of its kind) must be a copy of it.
  if (step.sources.size() == 1 && step.sources[0].exact && !step.sources[0].text.ends_with("/")) {
    const std::string name = base_name(step.sources[0].text);
    json matches = fresh;
    matches["local_path"] =
        b.job_var(job, job.prefix + "_s3_local_file", b.local(step.sources[0].text));
    if (size_t dot = name.find('.'); dot != std::string::npos && dot > 0)
      matches["suffix"] = literal_text(name.substr(dot));
    b.add_check(job, "s3-object-matches", "s3.object_matches", matches,
                "The newest uploaded backup is byte-identical to the local one", &step,
                {{"needs", {auth}}, {"after", {job.id + "-s3-fresh"}}});
  }
  b.add_check(job, "s3-multipart-leftovers", "s3.multipart_leftovers", base,
              "No abandoned multipart uploads of interrupted transfers hold storage", &step,
              {{"needs", {auth}}, {"severity", "warning"}});
}

}  // namespace

// A connection string with a password in it (postgresql://u:PW@h/db, "password=PW host=h"):
// the password is cut out, so that no checklist, report or log ever holds it.
bool without_password(std::string& value, std::string& why) {
  bool cut = false;
  if (size_t scheme = value.find("://"); scheme != std::string::npos) {
    // The user info ends at the authority's last '@' (a password may hold '@' itself).
    const size_t authority_end = std::min(value.find_first_of("/?#", scheme + 3), value.size());
    const size_t at = value.rfind('@', authority_end == 0 ? 0 : authority_end - 1);
    const size_t colon = value.find(':', scheme + 3);
    if (at != std::string::npos && at > scheme && colon != std::string::npos && colon < at) {
      value.erase(colon, at - colon);
      cut = true;
    }
  }
  // password=PW, password = 'P W' (libpq allows blanks around '='), ?password=PW in a URI.
  for (size_t p = value.find("password"); p != std::string::npos; p = value.find("password", p)) {
    size_t end = value.find_first_not_of(' ', p + 8);
    if (end == std::string::npos || value[end] != '=') {
      p += 8;
      continue;
    }
    end = value.find_first_not_of(' ', end + 1);
    if (end != std::string::npos && value[end] == '\'') {
      end = value.find('\'', end + 1);
      end = end == std::string::npos ? end : end + 1;
    } else if (end != std::string::npos) {
      end = value.find_first_of(" &", end);
    }
    value.erase(p, end == std::string::npos ? std::string::npos : end - p);
    cut = true;
  }
  if (cut) why = "is a connection string holding a password";
  return cut;
}

void add_step_checks(ChecklistBuilder& b, const Job& job, const BackupStep& step) {
  switch (step.kind) {
    case Kind::database_dump:
    case Kind::cluster_dump:
      add_dump_checks(b, job, step);
      break;
    case Kind::base_backup:
      add_pg_checks(b, job, step);
      b.note(step.origin.where(),
             "pg_basebackup: base backups are checked for their connection only (pg.base_backup is "
             "planned)");
      break;
    case Kind::archive:
      add_archive_checks(b, job, step);
      break;
    case Kind::rsync:
      add_rsync_checks(b, job, step);
      break;
    case Kind::s3_copy:
      add_s3_checks(b, job, step);
      break;
    case Kind::rclone_copy: {
      // A remote written on the command line carries its parameters, keys among them
      // (":s3,secret_access_key=KEY:bucket"): only its name and path are shown.
      std::string remote = step.destination ? step.destination->text : std::string("?");
      const size_t colon = remote.find(':', 1), comma = remote.find(',');
      if (comma != std::string::npos && comma < colon) remote.erase(comma, colon - comma);
      b.note(step.origin.where(),
             "rclone to " + remote +
                 ": no check type reads rclone remotes; `rclone check` compares source and remote");
      break;
    }
    case Kind::encrypt: {
      if (auto place = output_place(b, job, step, "encrypted")) {
        json extra = after_log(job);
        b.add_check(job, "encrypted-fresh", "files.freshness",
                    {{"path", place->dir},
                     {"pattern", place->pattern},
                     {"max_age", job.max_age},
                     {"min_ratio", 0.5}},
                    "The newest encrypted backup is younger than the schedule allows", &step,
                    extra);
      }
      break;
    }
    case Kind::checksum:
      break;  // it makes the archive checks require the checksum
  }
}

json ChecklistBuilder::pg_connection(const Job& job, const BackupStep& step) {
  json conn = json::object();
  const std::pair<const char*, const char*> kKeys[] = {
      {"host", "db_host"}, {"port", "db_port"}, {"dbname", "db_name"}, {"user", "db_user"}};
  for (const auto& [key, name] : kKeys) {
    auto it = step.connection.find(key);
    if (it == step.connection.end()) continue;
    if (!it->second.exact) {
      note(step.origin.where(), std::string("the database ") + key + " '" + it->second.text +
                                    "' cannot be worked out; set " + job.prefix + "_" + name +
                                    " by hand");
    }
    std::string value = it->second.text;
    if (std::string why; without_password(value, why))
      note(
          step.origin.where(),
          "the " + std::string(key) + " " + why + "; its password was left out of the checklist: " +
              "give it as a secret (password: {\"secret\": {\"env\": ...}}) or in a password file");
    conn[key] = var(job.prefix + "_" + name, value);
  }
  if (!conn.contains("user") && job.user != "root") conn["user"] = job.user_var;
  const std::string passfile = step.connection.count("passfile")
                                   ? step.connection.at("passfile").text
                                   : job.traced->home + "/.pgpass";
  if (!job.traced->home.empty() && host().is_file(passfile)) {
    conn["passfile"] = var(job.prefix + "_db_passfile", local(passfile));
  } else if (step.password_from_environment) {
    const std::string env = step.password_variable.empty() ? "PGPASSWORD" : step.password_variable;
    conn["password"] =
        secret(env, "the password " + job.id + " gives pg_dump (" + step.origin.where() + ")");
  }
  conn["connect_timeout"] = "10s";
  return conn;
}

}  // namespace backup_doctor::init

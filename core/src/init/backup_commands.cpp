#include "init/backup_commands.hpp"
#include "init/words.hpp"

#include <set>
#include <utility>

namespace backup_doctor::init {
namespace {

using Kind = BackupStep::Kind;
constexpr size_t kMaxSteps = 100;

Expanded exact(std::string text) {
  return {std::move(text), true, {}};
}

// A relative path is relative to the script's working directory.
// One that starts with what could not be known ("$OUT", "$(mktemp)") may well be absolute: it
// is left as it is (a pattern of the working directory would check any file there).
Expanded absolute(Expanded p, const std::string& cwd) {
  if (!p.exact && p.text.starts_with("*")) return p;
  if (!p.text.empty() && p.text[0] != '/' && p.text != "-" && !cwd.empty())
    p.text = (cwd.back() == '/' ? cwd : cwd + "/") + p.text;
  return p;
}

// Options as getopt reads them: "-f X", "-fX", "--file X", "--file=X", bundles of flags ("-av");
// `short_names` maps a letter to its long name, `valued` lists the long names taking a value.
struct Args {
  std::map<std::string, Expanded> values;  // long name -> last value
  std::vector<std::pair<std::string, Expanded>> all_values;
  std::set<std::string> flags;
  std::vector<Expanded> positional;
  std::vector<std::string> written;  // every option word, as expanded
};

Args parse_args(const std::vector<Expanded>& argv, size_t first,
                const std::map<char, std::string>& short_names,
                const std::set<std::string>& valued) {
  Args a;
  auto add_value = [&](const std::string& name, const Expanded& v) {
    a.values[name] = v;
    a.all_values.emplace_back(name, v);
  };
  for (size_t i = first; i < argv.size(); ++i) {
    const std::string& w = argv[i].text;
    if (w == "--") {
      a.positional.insert(a.positional.end(), argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (w.size() > 2 && w.starts_with("--")) {
      a.written.push_back(w);
      const size_t eq = w.find('=');
      const std::string name = w.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos)
        add_value(name, exact(w.substr(eq + 1)));
      else if (valued.count(name) && i + 1 < argv.size()) {
        add_value(name, argv[++i]);
        a.written.push_back(argv[i].text);
      } else
        a.flags.insert(name);
      continue;
    }
    if (w.size() > 1 && w[0] == '-') {
      a.written.push_back(w);
      for (size_t k = 1; k < w.size(); ++k) {
        auto it = short_names.find(w[k]);
        const std::string name = it == short_names.end() ? std::string(1, w[k]) : it->second;
        if (!valued.count(name)) {
          a.flags.insert(name);
          continue;
        }
        if (k + 1 < w.size())
          add_value(name, exact(w.substr(k + 1)));
        else if (i + 1 < argv.size()) {
          add_value(name, argv[++i]);
          a.written.push_back(argv[i].text);
        }
        break;
      }
      continue;
    }
    a.positional.push_back(argv[i]);
  }
  return a;
}

const std::set<std::string> kCompressors = {"gzip", "pigz",  "zstd",   "pzstd", "xz",
                                            "pixz", "bzip2", "pbzip2", "lz4",   "lzop"};

// Where a command's standard output ends up: its own redirection, or through the rest of the
// pipeline (compressors, gpg, tee) to the last command's redirection.
struct Sink {
  std::optional<Expanded> file;
  std::string compression;
  bool encrypted = false;
  std::optional<Expanded> uploaded_to;  // aws s3 cp - s3://...
};

Sink follow_stdout(const std::vector<CommandLine>& pipeline, size_t i) {
  Sink sink;
  for (size_t k = i; k < pipeline.size(); ++k) {
    const CommandLine& c = pipeline[k];
    if (k > i) {
      const std::string p = c.program();
      if (kCompressors.count(p))
        sink.compression = p;
      else if (p == "gpg" || p == "gpg2" || p == "age" || p == "openssl")
        sink.encrypted = true;
      else if (p == "tee" && c.argv.size() >= 2)
        sink.file = c.argv.back();
      else if (p == "aws" && c.argv.size() >= 5 && c.argv[c.argv.size() - 2].text == "-")
        sink.uploaded_to = c.argv.back();
      else if (p == "cat" || p == "pv" || p == "buffer" || p == "mbuffer") {
      } else
        return sink;  // something we do not follow: its output is not ours to name
    }
    if (c.stdout_file) {
      sink.file = c.stdout_file;
      return sink;
    }
  }
  return sink;
}

// PG* environment variables, then the command's options, as libpq takes them.
void pg_connection(const CommandLine& c, const Args& a, ShellEnvironment& env, BackupStep& s) {
  const std::pair<const char*, const char*> kEnv[] = {{"PGHOST", "host"},
                                                      {"PGPORT", "port"},
                                                      {"PGUSER", "user"},
                                                      {"PGDATABASE", "dbname"},
                                                      {"PGPASSFILE", "passfile"}};
  for (const auto& [var, key] : kEnv) {
    if (auto it = c.env.find(var); it != c.env.end())
      s.connection[key] = it->second;
    else if (const ShellValue* v = env.find(var))
      s.connection[key] = {v->text, v->exact, {}};
  }
  for (const char* key : {"host", "port", "username", "dbname"}) {
    if (auto it = a.values.find(key); it != a.values.end())
      s.connection[std::string(key) == "username" ? "user" : key] = it->second;
  }
  for (const auto& [name, value] : c.env) {
    if (name != "PGPASSWORD") continue;
    s.password_from_environment = true;
  }
  if (env.find("PGPASSWORD")) s.password_from_environment = true;
  if (s.password_from_environment && c.syntax) {
    for (const auto& a2 : c.syntax->assignments) {
      if (a2.name == "PGPASSWORD" && !a2.value.parts.empty() &&
          a2.value.parts[0].kind == WordPart::Kind::parameter)
        s.password_variable = a2.value.parts[0].text;
    }
  }
}

BackupStep pg_step(const std::vector<CommandLine>& pipeline, size_t i, ShellEnvironment& env,
                   const std::string& cwd) {
  const CommandLine& c = pipeline[i];
  const std::string p = c.program();
  static const std::map<char, std::string> kShort = {
      {'h', "host"},           {'p', "port"},     {'U', "username"}, {'d', "dbname"},
      {'f', "file"},           {'F', "format"},   {'Z', "compress"}, {'D', "pgdata"},
      {'t', "table"},          {'n', "schema"},   {'j', "jobs"},     {'T', "exclude-table"},
      {'N', "exclude-schema"}, {'E', "encoding"}, {'S', "superuser"}};
  static const std::set<std::string> kValued = {"host",
                                                "port",
                                                "username",
                                                "dbname",
                                                "file",
                                                "format",
                                                "compress",
                                                "pgdata",
                                                "table",
                                                "schema",
                                                "jobs",
                                                "exclude-table",
                                                "exclude-schema",
                                                "encoding",
                                                "superuser",
                                                "role",
                                                "lock-wait-timeout",
                                                "checkpoint",
                                                "wal-method",
                                                "label",
                                                "max-rate",
                                                "slot"};
  Args a = parse_args(c.argv, 1, kShort, kValued);
  BackupStep s;
  s.kind = p == "pg_dump"      ? Kind::database_dump
           : p == "pg_dumpall" ? Kind::cluster_dump
                               : Kind::base_backup;
  s.program = p;
  if (s.kind == Kind::database_dump && !a.positional.empty() && !a.values.count("dbname"))
    a.values["dbname"] = a.positional.front();
  pg_connection(c, a, env, s);
  if (s.kind == Kind::base_backup) {
    if (auto it = a.values.find("pgdata"); it != a.values.end())
      s.output = absolute(it->second, cwd);
    if (a.flags.count("gzip") || a.flags.count("z")) s.compression = "gzip";
    return s;
  }
  if (auto it = a.values.find("file"); it != a.values.end())
    s.output = absolute(it->second, cwd);
  else {
    Sink sink = follow_stdout(pipeline, i);
    if (sink.file) s.output = absolute(*sink.file, cwd);
    s.compression = sink.compression;
    if (sink.uploaded_to) s.destination = sink.uploaded_to;
  }
  if (auto it = a.values.find("format"); it != a.values.end() && !it->second.text.empty() &&
                                         (it->second.text[0] == 'c' || it->second.text[0] == 'd'))
    s.compression = "pg_dump";
  return s;
}

// tar: create mode only; old-style bundled first word ("czf FILE") included.
std::optional<BackupStep> tar_step(const std::vector<CommandLine>& pipeline, size_t i,
                                   const std::string& cwd) {
  std::vector<Expanded> argv = pipeline[i].argv;
  if (argv.size() > 1 && !argv[1].text.empty() && argv[1].text[0] != '-')
    argv[1].text = "-" + argv[1].text;
  static const std::map<char, std::string> kShort = {{'f', "file"},
                                                     {'C', "directory"},
                                                     {'c', "create"},
                                                     {'z', "gzip"},
                                                     {'j', "bzip2"},
                                                     {'J', "xz"},
                                                     {'I', "use-compress-program"},
                                                     {'X', "exclude-from"},
                                                     {'T', "files-from"},
                                                     {'a', "auto-compress"},
                                                     {'x', "extract"},
                                                     {'t', "list"},
                                                     {'r', "append"},
                                                     {'u', "update"}};
  static const std::set<std::string> kValued = {"file",
                                                "directory",
                                                "use-compress-program",
                                                "exclude-from",
                                                "files-from",
                                                "exclude",
                                                "transform",
                                                "owner",
                                                "group",
                                                "mode",
                                                "mtime",
                                                "newer",
                                                "listed-incremental",
                                                "blocking-factor",
                                                "label",
                                                "warning"};
  Args a = parse_args(argv, 1, kShort, kValued);
  if (!a.flags.count("create")) return std::nullopt;
  BackupStep s;
  s.kind = Kind::archive;
  s.program = "tar";
  for (const char* z : {"gzip", "bzip2", "xz", "zstd", "lzip", "lzma"}) {
    if (a.flags.count(z)) s.compression = z;
  }
  if (auto it = a.values.find("use-compress-program"); it != a.values.end())
    s.compression = base_name(it->second.text);
  std::string dir = cwd;
  if (auto it = a.values.find("directory"); it != a.values.end()) dir = it->second.text;
  for (const Expanded& src : a.positional) s.sources.push_back(absolute(src, dir));
  if (auto it = a.values.find("file"); it != a.values.end() && it->second.text != "-")
    s.output = absolute(it->second, cwd);
  else {
    Sink sink = follow_stdout(pipeline, i);
    if (sink.file) s.output = absolute(*sink.file, cwd);
    if (!sink.compression.empty()) s.compression = sink.compression;
  }
  if (s.compression.empty() && s.output && a.flags.count("auto-compress")) {
    if (s.output->text.ends_with("gz")) s.compression = "gzip";
  }
  return s;
}

bool remote(const std::string& path) {
  const size_t colon = path.find(':');
  return path.starts_with("rsync://") || (colon != std::string::npos && path.find('/') > colon);
}

BackupStep rsync_step(const CommandLine& c, const std::string& cwd) {
  static const std::map<char, std::string> kShort = {
      {'e', "rsh"}, {'f', "filter"}, {'T', "temp-dir"}, {'B', "block-size"}};
  static const std::set<std::string> kValued = {
      "rsh",          "filter",     "exclude",       "include",       "exclude-from",
      "include-from", "temp-dir",   "block-size",    "timeout",       "contimeout",
      "port",         "bwlimit",    "partial-dir",   "backup-dir",    "suffix",
      "chmod",        "chown",      "log-file",      "password-file", "files-from",
      "compare-dest", "link-dest",  "copy-dest",     "max-size",      "min-size",
      "rsync-path",   "out-format", "compress-level"};
  Args a = parse_args(c.argv, 1, kShort, kValued);
  BackupStep s;
  s.kind = Kind::rsync;
  s.program = "rsync";
  s.run_as = c.run_as;
  for (const auto& [name, value] : a.all_values) {
    if (name == "rsh") s.connection["rsh"] = value;
  }
  s.args = a.written;  // the job's options, for the dry run
  if (a.positional.size() >= 2) {
    s.destination = a.positional.back();
    if (!remote(s.destination->text)) s.destination = absolute(*s.destination, cwd);
    for (size_t k = 0; k + 1 < a.positional.size(); ++k)
      s.sources.push_back(absolute(a.positional[k], cwd));
  }
  return s;
}

std::optional<BackupStep> aws_step(const CommandLine& c, const std::string& cwd) {
  static const std::set<std::string> kValued = {
      "endpoint-url", "region",        "profile", "storage-class",  "sse",    "exclude",
      "include",      "expected-size", "acl",     "sse-kms-key-id", "output", "query"};
  Args a = parse_args(c.argv, 1, {}, kValued);
  if (a.positional.size() < 4 || a.positional[0].text != "s3") return std::nullopt;
  const std::string verb = a.positional[1].text;
  if (verb != "cp" && verb != "sync" && verb != "mv") return std::nullopt;
  const Expanded& from = a.positional[2];
  const Expanded& to = a.positional[3];
  if (!to.text.starts_with("s3://") || from.text.starts_with("s3://")) return std::nullopt;
  BackupStep s;
  s.kind = Kind::s3_copy;
  s.program = "aws s3 " + verb;
  if (from.text != "-") s.sources.push_back(absolute(from, cwd));
  s.destination = to;
  for (const char* key : {"endpoint-url", "region", "profile"}) {
    if (auto it = a.values.find(key); it != a.values.end()) s.connection[key] = it->second;
  }
  if (a.flags.count("recursive") || verb == "sync") s.args.push_back("recursive");
  return s;
}

std::optional<BackupStep> rclone_step(const CommandLine& c, const std::string& cwd) {
  Args a =
      parse_args(c.argv, 1, {},
                 {"config", "exclude", "include", "filter", "transfers", "bwlimit", "log-file"});
  if (a.positional.size() < 3) return std::nullopt;
  const std::string verb = a.positional[0].text;
  if (verb != "copy" && verb != "sync" && verb != "copyto" && verb != "move") return std::nullopt;
  BackupStep s;
  s.kind = Kind::rclone_copy;
  s.program = "rclone " + verb;
  s.sources.push_back(absolute(a.positional[1], cwd));
  s.destination = a.positional[2];
  return s;
}

std::optional<BackupStep> gpg_step(const CommandLine& c, const std::string& cwd) {
  static const std::map<char, std::string> kShort = {{'e', "encrypt"},   {'c', "symmetric"},
                                                     {'r', "recipient"}, {'o', "output"},
                                                     {'a', "armor"},     {'u', "local-user"}};
  Args a = parse_args(
      c.argv, 1, kShort,
      {"recipient", "output", "local-user", "passphrase-file", "homedir", "compress-algo"});
  if (!a.flags.count("encrypt") && !a.flags.count("symmetric")) return std::nullopt;
  BackupStep s;
  s.kind = Kind::encrypt;
  s.program = c.program();
  for (const auto& [name, value] : a.all_values) {
    if (name == "recipient") s.args.push_back(value.text);
  }
  if (!a.positional.empty()) s.sources.push_back(absolute(a.positional.back(), cwd));
  if (auto it = a.values.find("output"); it != a.values.end())
    s.output = absolute(it->second, cwd);
  else if (c.stdout_file)
    s.output = absolute(*c.stdout_file, cwd);
  else if (!s.sources.empty()) {
    s.output = s.sources.back();
    s.output->text += a.flags.count("armor") ? ".asc" : ".gpg";
  }
  return s;
}

std::optional<BackupStep> checksum_step(const CommandLine& c, const std::string& cwd) {
  Args a = parse_args(c.argv, 1, {{'c', "check"}}, {});
  if (a.flags.count("check") || a.positional.empty()) return std::nullopt;
  BackupStep s;
  s.kind = Kind::checksum;
  s.program = c.program();
  for (const Expanded& p : a.positional) s.sources.push_back(absolute(p, cwd));
  if (c.stdout_file) s.output = absolute(*c.stdout_file, cwd);
  return s;
}

bool same_path(const Expanded& a, const Expanded& b) {
  return a.text == b.text;
}

// `gzip FILE` and `mv FILE OTHER` change the name of what an earlier step wrote.
void rename_earlier(const CommandLine& c, const std::string& cwd, TracedJob& out) {
  const std::string p = c.program();
  if (p == "mv" && c.argv.size() >= 3) {
    Expanded from = absolute(c.argv[c.argv.size() - 2], cwd), to = absolute(c.argv.back(), cwd);
    for (auto& s : out.steps) {
      if (!s.output || !same_path(*s.output, from)) continue;
      if (!to.text.empty() && to.text.back() == '/') to.text += base_name(from.text);
      s.output = to;
    }
    return;
  }
  if (p == "rm") {
    for (size_t k = 1; k < c.argv.size(); ++k) {
      if (c.argv[k].text.starts_with("-")) continue;
      const Expanded file = absolute(c.argv[k], cwd);
      for (auto& s : out.steps) s.removed = s.removed || (s.output && same_path(*s.output, file));
    }
    return;
  }
  static const std::map<std::string, std::string> kSuffix = {{"gzip", ".gz"},   {"pigz", ".gz"},
                                                             {"zstd", ".zst"},  {"xz", ".xz"},
                                                             {"bzip2", ".bz2"}, {"lz4", ".lz4"}};
  auto suffix = kSuffix.find(p);
  if (suffix == kSuffix.end() || c.stdout_file) return;
  for (size_t k = 1; k < c.argv.size(); ++k) {
    if (c.argv[k].text.starts_with("-")) continue;
    const Expanded file = absolute(c.argv[k], cwd);
    for (auto& s : out.steps) {
      if (!s.output || !same_path(*s.output, file)) continue;
      s.output->text += suffix->second;
      s.compression = p;
    }
  }
}

std::optional<BackupStep> step_for(const std::vector<CommandLine>& pipeline, size_t i,
                                   ShellEnvironment& env, const std::string& cwd) {
  const std::string p = pipeline[i].program();
  if (p == "pg_dump" || p == "pg_dumpall" || p == "pg_basebackup")
    return pg_step(pipeline, i, env, cwd);
  if (p == "tar" || p == "bsdtar") return tar_step(pipeline, i, cwd);
  if (p == "rsync") return rsync_step(pipeline[i], cwd);
  if (p == "aws") return aws_step(pipeline[i], cwd);
  if (p == "rclone") return rclone_step(pipeline[i], cwd);
  if ((p == "gpg" || p == "gpg2") && i == 0) return gpg_step(pipeline[i], cwd);
  if (p == "sha256sum" || p == "sha512sum" || p == "sha1sum" || p == "md5sum" || p == "b2sum")
    return checksum_step(pipeline[i], cwd);
  return std::nullopt;
}

}  // namespace

std::string CommandLine::program() const {
  if (argv.empty() || !argv[0].exact) return "";
  return base_name(argv[0].text);
}

bool is_backup_program(const std::string& p) {
  static const std::set<std::string> kPrograms = {
      "pg_dump", "pg_dumpall", "pg_basebackup", "tar",       "bsdtar",  "rsync",  "aws",  "rclone",
      "gpg",     "gpg2",       "sha256sum",     "sha512sum", "sha1sum", "md5sum", "b2sum"};
  return kPrograms.count(p) > 0;
}

void recognise_pipeline(const std::vector<CommandLine>& pipeline, ShellEnvironment& env,
                        const std::string& file, const std::string& cwd, TracedJob& out) {
  for (size_t i = 0; i < pipeline.size(); ++i) {
    const CommandLine& c = pipeline[i];
    if (out.steps.size() >= kMaxSteps) {  // a script of a million `tar` lines
      if (!std::exchange(out.steps_capped, true))
        out.notes.push_back({file + ":" + std::to_string(c.syntax ? c.syntax->line : 0),
                             "more than " + std::to_string(kMaxSteps) +
                                 " backup commands in one job; the rest are not read"});
      return;
    }
    if (!c.program().empty()) out.programs.insert(c.program());
    rename_earlier(c, cwd, out);
    std::optional<BackupStep> step = step_for(pipeline, i, env, cwd);
    if (!step) continue;
    step->origin = {file, c.syntax ? c.syntax->line : 0, ""};
    for (const auto& w : c.argv)
      step->origin.text += (step->origin.text.empty() ? "" : " ") + w.text;
    if (step->origin.text.size() > 100) step->origin.text = step->origin.text.substr(0, 97) + "...";
    if (step->run_as.empty()) step->run_as = c.run_as;
    out.steps.push_back(std::move(*step));
  }
}

}  // namespace backup_doctor::init

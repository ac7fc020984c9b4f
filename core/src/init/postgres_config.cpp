// postgresql.conf as the server reads it: `name = value`, values optionally single-quoted with
// '' for a quote, later settings winning, include/include_dir followed (one level of files).
#include "init/postgres_config.hpp"
#include "init/words.hpp"

#include "init/host_files.hpp"
#include "init/shell_expand.hpp"

#include <map>
#include <sstream>

namespace backup_doctor::init {
namespace {

struct Setting {
  std::string value;
  std::string file;
  int line = 0;
};

// The value after '=': a quoted string (with '' and \' escapes) or a bare word; comments cut.
std::string config_value(const std::string& text) {
  std::string v = trim(text);
  if (v.empty() || v[0] != '\'') return trim(v.substr(0, v.find('#')));
  std::string out;
  for (size_t i = 1; i < v.size(); ++i) {
    if ((v[i] == '\'' && i + 1 < v.size() && v[i + 1] == '\'') ||
        (v[i] == '\\' && i + 1 < v.size())) {
      out += v[++i];
    } else if (v[i] == '\'') {
      break;
    } else {
      out += v[i];
    }
  }
  return out;
}

void read_config(const HostFiles& host, const std::string& path,
                 std::map<std::string, Setting>& settings, int depth) {
  auto text = host.read(path);
  if (!text || depth > 2) return;
  const std::string dir = path.substr(0, path.rfind('/'));
  for_each_content_line(*text, [&](int number, const std::string& t) {
    size_t eq = t.find('=');
    const size_t blank = t.find_first_of(" \t");
    if (eq == std::string::npos) eq = blank;
    if (eq == std::string::npos) return true;
    const std::string name = trim(t.substr(0, std::min(eq, blank)));
    const std::string value = config_value(t.substr(eq + (t[eq] == '=' ? 1 : 0)));
    auto resolve = [&](const std::string& p) {
      return p.empty() || p[0] == '/' ? p : dir + "/" + p;
    };
    if (name == "include" || name == "include_if_exists") {
      read_config(host, resolve(value), settings, depth + 1);
    } else if (name == "include_dir") {
      for (const std::string& f : host.list(resolve(value))) {
        if (f.ends_with(".conf") && f[0] != '.')
          read_config(host, resolve(value) + "/" + f, settings, depth + 1);
      }
    } else {
      settings[name] = {value, path, number};
    }
    return true;
  });
}

// `test ! -f /wal/%f && cp %p /wal/%f`, `rsync -a %p /wal/%f`, `gzip < %p > /wal/%f.gz`: the
// directory the segment lands in.
std::string archive_directory(const std::string& command) {
  ShellScript s = parse_shell(command);
  ShellEnvironment env;
  for (const auto& c : s.commands) {
    std::vector<std::string> words;
    for (const auto& w : c.words) words.push_back(expand_word(w, env).text);
    std::string target;
    if (!words.empty() && (words[0] == "cp" || words[0] == "rsync" || words[0] == "install") &&
        words.size() >= 3)
      target = words.back();
    for (const auto& r : c.redirects) {
      if (r.op == ">" || r.op == ">>") target = expand_word(r.target, env).text;
    }
    const size_t f = target.find("%f");
    if (f != std::string::npos && f > 0 && target[0] == '/') {
      std::string dir = target.substr(0, f);
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      return dir;
    }
  }
  return "";
}

// Only the program of a command is shown: the rest may be a password (sshpass -p PW scp ...).
std::string first_word(const std::string& command) {
  const std::string t = trim(command);
  return t.substr(0, t.find_first_of(" \t"));
}

std::vector<std::string> config_files(const HostFiles& host) {
  std::vector<std::string> out;
  for (const std::string& version : host.list("/etc/postgresql")) {
    for (const std::string& cluster : host.list("/etc/postgresql/" + version)) {
      const std::string p = "/etc/postgresql/" + version + "/" + cluster + "/postgresql.conf";
      if (host.is_file(p)) out.push_back(p);
    }
  }
  for (const char* p :
       {"/var/lib/pgsql/data/postgresql.conf", "/var/lib/postgresql/data/postgresql.conf"}) {
    if (host.is_file(p)) out.push_back(p);
  }
  return out;
}

}  // namespace

std::vector<WalArchive> read_wal_archives(const HostFiles& host, std::vector<std::string>& notes) {
  std::vector<WalArchive> out;
  for (const std::string& path : config_files(host)) {
    std::map<std::string, Setting> settings;
    read_config(host, path, settings, 0);
    // postgresql.auto.conf (ALTER SYSTEM) wins over the file, as in the server.
    read_config(host, path.substr(0, path.rfind('/')) + "/postgresql.auto.conf", settings, 0);
    auto command = settings.find("archive_command");
    if (command == settings.end() || command->second.value.empty()) continue;
    WalArchive w;
    w.config = command->second.file;
    w.line = command->second.line;
    w.command = command->second.value;
    w.directory = archive_directory(w.command);
    w.archive_mode_on =
        settings.count("archive_mode") &&
        (settings["archive_mode"].value == "on" || settings["archive_mode"].value == "always");
    if (settings.count("port")) w.port = settings["port"].value;
    if (settings.count("unix_socket_directories"))
      w.socket_directory = trim(settings["unix_socket_directories"].value.substr(
          0, settings["unix_socket_directories"].value.find(',')));
    if (w.directory.empty())
      notes.push_back(
          w.config + ":" + std::to_string(w.line) + ": archive_command (" + first_word(w.command) +
          " ...) does not copy to a local directory init recognises; its archive is not checked");
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace backup_doctor::init

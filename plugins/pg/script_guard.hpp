// A plain SQL dump on its way to psql (or only looked at): line by line through PsqlLexer, so
// that psql never reads a meta-command from it, nor a statement that acts on the cluster.
//
// Feeding psql, the guard
//   - starts with our own `\restrict KEY` (a random key the dump cannot know) when psql has
//     restricted mode, and drops the dump's own \restrict and \unrestrict lines;
//   - hands on a statement only once it has ended, so that when the stream must stop (a
//     meta-command, a cluster statement, a read error), psql, which runs an unfinished last
//     statement at the end of its input, has nothing unfinished;
//   - turns ON_ERROR_STOP on around COPY ... FROM stdin: if the COPY fails, psql would read its
//     data as statements, which the guard has not looked at as such;
//   - stops before the first byte psql could read as a meta-command.
// The file is read again for the restore, so whatever changed since the scan is caught here.
#pragma once

#include "psql_lexer.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace backup_doctor::pg {

class ScriptGuard {
 public:
  enum class Mode {
    scan,        // only look; pg_dump's own \connect and \restrict lines are noted
    restricted,  // feed a psql that has \restrict (13.22, 14.19, 15.14, 16.10, 17.6 and later)
    strict,      // feed an older psql: strict strings; ON_ERROR_STOP=1 is on its command line
  };
  enum class StopKind { none, meta_command, cluster_statement, too_long };

  explicit ScriptGuard(Mode mode);

  // Takes the next bytes of the dump and appends what psql may read to `out` (nothing in scan
  // mode). False once the stream has stopped; stop() says why.
  bool take(std::string_view bytes, std::string& out);
  // The end of the dump: the last line and a last statement without ';' are judged.
  bool finish(std::string& out);

  StopKind stop_kind() const { return stop_kind_; }
  const std::optional<ScriptFinding>& stop() const { return stop_; }
  // Noted in scan mode (they do not stop it).
  const std::optional<ScriptFinding>& cluster_statement() const {
    return lexer_.cluster_statement();
  }
  bool has_connect() const { return has_connect_; }
  bool has_restrict() const { return has_restrict_; }

  // Longest statement held back before it is handed on.
  static constexpr size_t kMaxStatement = 64u << 20;

 private:
  bool feeding() const { return mode_ != Mode::scan; }
  bool take_segment(std::string_view segment, std::string& out);
  bool take_meta_line(std::string_view line);
  bool lex(std::string_view bytes);
  bool hand_on(std::string& out);
  bool halt(StopKind kind, std::optional<ScriptFinding> why);
  // "\unrestrict OLD", a psql setting, "\restrict NEW" (restricted mode only).
  std::string set_in_psql(const std::string& setting);

  Mode mode_;
  PsqlLexer lexer_;
  bool started_ = false;
  bool at_line_start_ = true;
  std::string meta_line_;  // a line starting with '\' at the top level, until its newline
  bool in_meta_line_ = false;
  std::string line_;  // the current line (outside COPY data), lexed once it is whole
  std::string held_;  // the statement(s) not yet handed on
  std::string key_;   // the current \restrict key
  bool copy_ = false;
  StopKind stop_kind_ = StopKind::none;
  std::optional<ScriptFinding> stop_;
  bool has_connect_ = false, has_restrict_ = false;
};

}  // namespace backup_doctor::pg

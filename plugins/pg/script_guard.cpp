#include "script_guard.hpp"

#include <random>

namespace backup_doctor::pg {

namespace {

constexpr size_t kMaxMetaLine = 64 * 1024;  // pg_dump's own \ lines are far shorter

std::string random_key() {
  static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<int> pick(0, 61);
  std::string key;
  for (int i = 0; i < 32; ++i) key += alnum[pick(rd)];
  return key;
}

std::string_view without_newline(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  return line;
}

}  // namespace

ScriptGuard::ScriptGuard(Mode mode) : mode_(mode), lexer_(mode == Mode::strict) {}

bool ScriptGuard::take(std::string_view bytes, std::string& out) {
  if (stop_kind_ != StopKind::none) return false;
  if (!started_) {
    started_ = true;
    if (mode_ == Mode::restricted) {
      key_ = random_key();
      out += "\\restrict " + key_ + "\n";
    }
  }
  // One segment per line (or the part of a line in this chunk).
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    size_t len = nl == std::string_view::npos ? bytes.size() : nl + 1;
    if (!take_segment(bytes.substr(0, len), out)) return false;
    bytes.remove_prefix(len);
  }
  return true;
}

bool ScriptGuard::take_segment(std::string_view segment, std::string& out) {
  const bool line_ends = segment.back() == '\n';
  if (at_line_start_ && !in_meta_line_ && segment.front() == '\\' &&
      lexer_.at_top_level_line_start())
    in_meta_line_ = true;
  at_line_start_ = line_ends;
  if (in_meta_line_) {
    meta_line_.append(segment);
    if (!line_ends && meta_line_.size() < kMaxMetaLine) return true;
    in_meta_line_ = false;
    std::string line;
    line.swap(meta_line_);
    return take_meta_line(line);
  }
  if (lexer_.in_copy_data()) {  // COPY data goes on as it comes
    if (!lex(segment)) return false;
    if (!feeding()) return true;
    out.append(segment);
    if (!lexer_.in_copy_data()) out += set_in_psql("ON_ERROR_STOP off");
    return true;
  }
  // Other lines are lexed whole (up to a limit), so that a finding names the whole command.
  line_.append(segment);
  if (!line_ends && line_.size() < kMaxMetaLine) return true;
  std::string piece;
  piece.swap(line_);
  if (!lex(piece)) return false;
  if (!feeding()) return true;
  held_ += piece;
  if (held_.size() > kMaxStatement)
    return halt(StopKind::too_long,
                ScriptFinding{lexer_.line(),
                              "a statement longer than 64 MiB, which is not checked "
                              "before psql would run it"});
  return line_ends ? hand_on(out) : true;
}

bool ScriptGuard::lex(std::string_view bytes) {
  if (lexer_.scan(bytes) < bytes.size() || lexer_.finding())
    return halt(StopKind::meta_command, lexer_.finding());
  return true;
}

// A line that starts with a backslash at the top level: pg_dump's own \restrict, \unrestrict and
// (only looking) \connect lines are allowed; the lexer reports anything else.
bool ScriptGuard::take_meta_line(std::string_view line) {
  std::string_view text = without_newline(line);
  if (line.size() < kMaxMetaLine) {
    if (PsqlLexer::is_restrict_line(text)) {
      has_restrict_ = true;
      lexer_.skip_line();
      return true;
    }
    if (!feeding() && PsqlLexer::is_connect_line(text)) {
      has_connect_ = true;
      lexer_.skip_line();
      return true;
    }
  }
  lexer_.scan(line);
  return halt(StopKind::meta_command, lexer_.finding());
}

// At the end of a line: what is held back goes on once no statement is unfinished.
bool ScriptGuard::hand_on(std::string& out) {
  if (lexer_.cluster_statement())
    return halt(StopKind::cluster_statement, lexer_.cluster_statement());
  if (lexer_.mid_statement()) return true;
  // The statement that just ended is COPY ... FROM stdin: if it fails, psql must stop rather
  // than read its data as statements.
  if (lexer_.in_copy_data()) out += set_in_psql("ON_ERROR_STOP on");
  out += held_;
  held_.clear();
  return true;
}

bool ScriptGuard::finish(std::string& out) {
  if (!take({}, out)) return false;
  if (in_meta_line_) {
    in_meta_line_ = false;
    std::string line;
    line.swap(meta_line_);
    if (!take_meta_line(line)) return false;
  }
  if (!line_.empty()) {
    std::string piece;
    piece.swap(line_);
    if (!lex(piece)) return false;
    if (feeding()) held_ += piece;
  }
  if (!lexer_.finish()) return halt(StopKind::meta_command, lexer_.finding());
  if (!feeding()) return true;
  if (lexer_.cluster_statement())
    return halt(StopKind::cluster_statement, lexer_.cluster_statement());
  out += held_;
  held_.clear();
  return true;
}

bool ScriptGuard::halt(StopKind kind, std::optional<ScriptFinding> why) {
  stop_kind_ = kind;
  stop_ = std::move(why);
  held_.clear();
  return false;
}

std::string ScriptGuard::set_in_psql(const std::string& setting) {
  if (mode_ != Mode::restricted) return {};
  std::string next = random_key();
  std::string lines = "\\unrestrict " + key_ + "\n\\set " + setting + "\n\\restrict " + next + "\n";
  key_ = next;
  return lines;
}

}  // namespace backup_doctor::pg

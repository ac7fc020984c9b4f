// Text from checks (file names, log lines, server messages) is untrusted: a log line must not be
// able to retitle an operator's terminal, move the cursor or draw a fake green OK, and a file
// name must not make a report file unreadable for the program that consumes it.
#pragma once

#include <string>
#include <string_view>

namespace backup_doctor {

// For terminals and other human-facing text: C0 controls (but '\n' when `keep_newlines`), DEL
// and C1 controls are shown as visible escapes (\x1b, \u009b), bytes that are not UTF-8 as \xNN;
// a tab becomes a space. Everything else, non-ASCII text included, is kept.
std::string printable(std::string_view text, bool keep_newlines = false);

// Valid UTF-8 for machine formats: every byte sequence that is not UTF-8 becomes U+FFFD.
std::string valid_utf8(std::string_view text);

// Text for XML 1.0 attributes and elements: escaped (&, <, >, ", '), and without the characters
// XML forbids (C0 controls other than tab/newline/return, U+FFFE, U+FFFF) or discourages (C1).
std::string xml_text(std::string_view text);

}  // namespace backup_doctor

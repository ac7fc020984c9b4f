#include "reporters/safe_text.hpp"

#include <doctest/doctest.h>

using namespace backup_doctor;

TEST_CASE("printable shows control characters as escapes and keeps text") {
  CHECK(printable("plain ascii") == "plain ascii");
  CHECK(printable("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");  // UTF-8 stays
  CHECK(printable("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07");
  CHECK(printable("a\x1b[32mOK") == "a\\x1b[32mOK");
  CHECK(printable("line\nbreak") == "line\\x0abreak");
  CHECK(printable("line\nbreak", true) == "line\nbreak");
  CHECK(printable("tab\there") == "tab here");
  CHECK(printable("del\x7f") == "del\\x7f");
  CHECK(printable("c1 \xc2\x9b"
                  "31m") == "c1 \\u009b31m");  // CSI as a C1 character
  CHECK(printable("raw \x9b"
                  "31m") == "raw \\x9b31m");  // CSI as a raw 8-bit byte
  CHECK(printable("\xc0\xaf overlong") == "\\xc0\\xaf overlong");
  CHECK(printable("\xed\xa0\x80 surrogate") == "\\xed\\xa0\\x80 surrogate");
}

TEST_CASE("valid_utf8 replaces what is not UTF-8") {
  CHECK(valid_utf8("ok \xc3\xa9") == "ok \xc3\xa9");
  CHECK(valid_utf8("bad \xff end") == "bad \xef\xbf\xbd end");
  CHECK(valid_utf8("cut \xe2\x9c") == "cut \xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("xml_text escapes markup and drops what XML 1.0 forbids") {
  CHECK(xml_text("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
  CHECK(xml_text("ctl\x01\x1b[31m\x7f") == "ctl[31m");
  CHECK(xml_text("keep\ttab\nnewline\r") == "keep\ttab\nnewline\r");
  CHECK(xml_text("c1\xc2\x9b"
                 "x") == "c1x");
  CHECK(xml_text("nonchar\xef\xbf\xbe") == "nonchar");
  CHECK(xml_text("bad\xff") == "bad\xef\xbf\xbd");
}

// A PostgreSQL dump file that pg.dump_verify inspects: written by the backup job, so by the
// backup account, and read by root. The input is both the file (in a memfd: detect_format's
// look at the first bytes and inside a compression, then scan_plain's streaming pass with the
// psql lexer in scan mode) and `pg_restore --list` output (parse_toc_listing: the file names
// the table names pg_restore repeats). The ScriptGuard that feeds a restore into an older psql
// (strict mode) sees the input as a plain dump, in small pieces. pg_restore is never run.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dump_inspect.hpp"
#include "script_guard.hpp"

namespace {

using namespace backup_doctor;
using namespace backup_doctor::pg;

int g_memfd = -1;

DumpSource open_input() {
  DumpSource dump;
  dump.path = "/var/backups/pg/db.sql.gz";
  int fd = ::fcntl(g_memfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) std::abort();
  dump.fd = support::UniqueFd(fd);
  if (::fstat(fd, &dump.st) != 0) std::abort();
  return dump;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_memfd = ::memfd_create("fuzz-pg-dump", MFD_CLOEXEC);
  if (g_memfd < 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  volatile size_t sink = 0;

  TocInfo toc = parse_toc_listing(text);
  if (toc.tables.size() + toc.table_data.size() > toc.entry_lines) std::abort();
  sink = sink + table_matches(toc.table_data, "public.users") + table_matches(toc.tables, "users");

  if (::ftruncate(g_memfd, 0) != 0) std::abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pwrite(g_memfd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  DumpSource dump = open_input();
  DetectedFormat format = detect_format(dump);
  sink = sink + format_name(format.format).size() + format.damaged.size();
  // The first poll (after 16 MiB of decompressed dump) ends a decompression bomb's scan.
  PlainScan scan = scan_plain(dump, [] { return true; });
  sink = sink + scan.bytes + scan.tables.size() + scan.dumped_by.size();
  if (scan.psql_command) sink = sink + scan.psql_command->what.size();
  if (scan.cluster_statement) sink = sink + scan.cluster_statement->line;
  sink = sink + table_matches(scan.table_data, "users") + unquote_ident(text.substr(0, 128)).size();

  ScriptGuard guard(ScriptGuard::Mode::strict);
  std::string out;
  bool going = true;
  for (size_t at = 0; going && at < size; at += 61) going = guard.take(text.substr(at, 61), out);
  if (going) guard.finish(out);
  sink = sink + out.size();
  (void)sink;
  return 0;
}

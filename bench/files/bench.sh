#!/usr/bin/env bash
# Benchmark of the files plugin against the shell commands the troubleshooting guide uses, run
# side by side on the same generated data in one run. Prints, as the median of RUNS runs, the
# wall time and the CPU time (user + system, children included) of each, and the ratios
# backup-doctor / reference (below 1: backup-doctor is faster). On a loaded machine the CPU
# figures are the steadier ones.
#
#   bench/files/bench.sh [path/to/backup-doctor]     (default: build/bin/backup-doctor)
#   RUNS=7 LOG_LINES=2000000 BACKUPS=20000 bench/files/bench.sh
#
# Each backup-doctor figure is a whole `backup-doctor run` of a one-check checklist: process
# start, plugin loading, checklist validation, the forked check, and the JSON report.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-${BD_BIN:-$here/build/bin/backup-doctor}}
RUNS=${RUNS:-5}
LOG_LINES=${LOG_LINES:-2000000}
BACKUPS=${BACKUPS:-20000}
[[ -x $BIN ]] || { echo "bench: $BIN is not built (pass the binary as the first argument)" >&2; exit 1; }

work=$(mktemp -d /tmp/bd-bench-files-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "bench/files: generating data in $work ($LOG_LINES log lines, $BACKUPS backups)" >&2
awk -v n="$LOG_LINES" 'BEGIN {
  for (i = 1; i <= n; i++) {
    if (i % 100000 == 0) print "2024-11-29 02:00:00 Backup completed successfully";
    else if (i % 25000 == 0) print "2024-11-29 02:00:00 ERROR pg_dump: could not write chunk " i;
    else print "2024-11-29 02:00:00 INFO processed chunk " i " of the bookings table, all rows ok";
  } }' >"$work/db_backup.log"
mkdir -p "$work/database"
(cd "$work/database" && seq -f 'trixtech_%06g.sql.gz' 1 "$BACKUPS" | xargs touch)
touch -d '-2 hours' "$work/database/trixtech_$(printf %06d "$BACKUPS").sql.gz"

checklist() { # $1 = check type, $2 = params JSON
  printf '{"version":1,"name":"bench","checks":[{"id":"c","use":"%s","with":%s}]}\n' "$1" "$2" \
    >"$work/checklist.json"
}

# "WALL_MS CPU_MS": medians over RUNS runs of "$@" (bash's time keyword, children included).
measure() {
  local walls=() cpus=() i t
  for ((i = 0; i < RUNS; i++)); do
    t=$({ TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -n 1) || true
    walls+=($(awk '{printf "%d", $1 * 1000}' <<<"$t"))
    cpus+=($(awk '{printf "%d", ($2 + $3) * 1000}' <<<"$t"))
  done
  echo "$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')" \
    "$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
}

doctor() { "$BIN" run "$work/checklist.json" --format json --no-progress; }

printf '%-44s %18s %18s %7s %7s\n' "case" "reference wall/cpu" "doctor wall/cpu" "wall x" "cpu x"
row() { # $1 = label, $2 = reference command, then the checklist is already written
  local ref doc status
  # Make sure the run measured is a real one: the check ran and reported.
  status=$(doctor | awk -F'"' '/"status":/ {print $4; exit}') || true
  [[ $status =~ ^(ok|warn|fail)$ ]] || { echo "bench: '$1' did not run (status '$status')" >&2; exit 1; }
  ref=$(measure "$2")
  doc=$(measure doctor)
  awk -v l="$1" -v r="$ref" -v d="$doc" 'BEGIN {
    split(r, a, " "); split(d, b, " ");
    printf "%-44s %9d/%-8d %9d/%-8d %7.2f %7.2f\n", l, a[1], a[2], b[1], b[2],
      (a[1] > 0 ? b[1] / a[1] : 0), (a[2] > 0 ? b[2] / a[2] : 0) }'
}

log=$work/db_backup.log
ref_whole() { grep -inE 'error|fail|exception' "$log" | tail -n 20; }
checklist files.log_scan "{\"path\":\"$log\",\"last_lines\":0}"
row "log_scan whole log ($(du -h "$log" | cut -f1))" ref_whole

ref_tail() { tail -n 1000 "$log" | grep -inE 'error|fail|exception'; }
checklist files.log_scan "{\"path\":\"$log\",\"last_lines\":1000}"
row "log_scan last 1000 lines, absolute line no." ref_tail
checklist files.log_scan "{\"path\":\"$log\",\"last_lines\":1000,\"line_numbers_up_to\":0}"
row "log_scan last 1000 lines, lines from end" ref_tail

ref_marker() { tac "$log" | sed '/Backup completed successfully/q' | grep -icE 'error|fail|exception'; }
checklist files.log_scan "{\"path\":\"$log\",\"last_lines\":0,\"success_marker\":\"Backup completed successfully\"}"
row "log_scan since success marker" ref_marker

ref_fresh() {
  find "$work/database" -maxdepth 1 -name '*.sql.gz' -printf '%T@ %s %p\n' | sort -n | tail -n 6
}
checklist files.freshness "{\"path\":\"$work/database\",\"pattern\":\"*.sql.gz\",\"max_age\":\"25h\"}"
row "freshness, $BACKUPS files" ref_fresh

ref_mode() { stat -c '%a %U %G' "$work/database"; test -x "$work/database"; }
checklist files.mode "{\"path\":\"$work/database\",\"max_mode\":\"0755\",\"owner\":\"root\"}"
row "mode of one path" ref_mode

ref_tools() { for t in tar gzip rsync pg_dump; do command -v "$t" && "$t" --version | head -n 1; done; }
checklist files.tools '{"tools":["tar","gzip","rsync",{"name":"pg_dump","min_version":"13"}]}'
row "tools: 4 commands with --version" ref_tools

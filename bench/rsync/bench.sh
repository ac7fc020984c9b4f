#!/usr/bin/env bash
# Benchmark of the rsync plugin against the commands an operator would run by hand, side by side
# on the same generated tree in one run. Prints wall times (median of RUNS runs) and the ratio
# backup-doctor / reference (below 1: backup-doctor is faster).
#
#   bench/rsync/bench.sh [path/to/backup-doctor]     (default: build/bin/backup-doctor)
#   RUNS=7 FILES=50000 bench/rsync/bench.sh
#
# Each backup-doctor figure is a whole `backup-doctor run` of a one-check checklist: process
# start, plugin loading, checklist validation, the forked check and the JSON report.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-${BD_BIN:-$here/build/bin/backup-doctor}}
RUNS=${RUNS:-5}
FILES=${FILES:-20000}
USER_NAME=${BENCH_USER:-backup-doctor-test}
[[ -x $BIN ]] || { echo "bench: $BIN is not built (pass the binary as the first argument)" >&2; exit 1; }

work=$(mktemp -d /tmp/bd-bench-rsync-XXXXXX)
holder=
cleanup() {
  [[ -n $holder ]] && kill "$holder" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"

echo "bench/rsync: generating $FILES files in $work/src" >&2
mkdir -p "$work/src" "$work/dst"
(
  cd "$work/src"
  for ((d = 0; d < FILES / 500 + 1; d++)); do mkdir -p "d$d"; done
  seq 0 $((FILES - 1)) | awk '{ printf "d%d/f%d.dat\n", $1 % ('"$FILES"' / 500 + 1), $1 }' |
    xargs -n 2000 touch
)
chmod -R a+rX "$work/src"
chown "$USER_NAME" "$work/dst"
# A writer holding one file open, for the open-files comparison.
sleep 3600 3>>"$work/src/d0/growing.log" &
holder=$!

checklist() { # $1 = check type, $2 = params JSON
  printf '{"version":1,"name":"bench","checks":[{"id":"c","use":"%s","with":%s,"timeout":"10m"}]}\n' \
    "$1" "$2" >"$work/checklist.json"
}

median_ms() {
  local times=() i start end
  for ((i = 0; i < RUNS; i++)); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

doctor() { "$BIN" run "$work/checklist.json" --format json; }

printf '%-52s %12s %16s %7s\n' "case" "reference ms" "backup-doctor ms" "ratio"
row() {
  awk -v l="$1" -v r="$2" -v b="$3" 'BEGIN { printf "%-52s %12d %16d %7.2f\n", l, r, b, (r > 0 ? b / r : 0) }'
}

# 1. Dry run as the backup user: rsync alone vs the check (with and without the access probe,
#    which opens every file rsync would send).
ref_dry() { setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups \
  rsync -a --dry-run --itemize-changes --stats "$work/src/" "$work/dst/"; }
r=$(median_ms ref_dry)
checklist rsync.dry_run "{\"source\":\"$work/src/\",\"destination\":\"$work/dst/\",\"run_as\":\"$USER_NAME\",\"probe_access\":false}"
b=$(median_ms doctor)
row "dry run, $FILES files, no probe (vs rsync -n)" "$r" "$b"
checklist rsync.dry_run "{\"source\":\"$work/src/\",\"destination\":\"$work/dst/\",\"run_as\":\"$USER_NAME\"}"
b=$(median_ms doctor)
row "dry run, $FILES files, with access probe (vs rsync -n)" "$r" "$b"

# 2. Paths and space: ls -ld + sudo -u touch/rm + du + df, as the guide does it by hand.
ref_paths() {
  ls -ld "$work/src/" "$work/dst/"
  setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups touch "$work/dst/test.txt"
  rm -f "$work/dst/test.txt"
  du -sb "$work/src/"
  df -B1 "$work/dst/"
}
r=$(median_ms ref_paths)
checklist rsync.paths "{\"source\":\"$work/src/\",\"destination\":\"$work/dst/\",\"backup_user\":\"$USER_NAME\"}"
b=$(median_ms doctor)
row "paths + space, $FILES files (vs ls/touch/du/df)" "$r" "$b"

# 3. Open files: lsof on the tree vs the /proc scan.
ref_lsof() { lsof +D "$work/src" 2>/dev/null; }
r=$(median_ms ref_lsof)
checklist rsync.open_files "{\"source\":\"$work/src/\"}"
b=$(median_ms doctor)
row "open files under the source (vs lsof +D)" "$r" "$b"
ref_find() { find /proc/[0-9]*/fd -lname "$work/src/*" 2>/dev/null; }
r=$(median_ms ref_find)
row "open files under the source (vs find /proc/*/fd)" "$r" "$b"

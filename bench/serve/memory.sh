#!/usr/bin/env bash
# Does serve's memory stay flat? Runs a cheap checklist (three files checks) every 10 ms and
# reads the server's resident set size (VmRSS) after 100 runs and after 10,000; with
# node_exporter-style scrapes of /metrics and /report.json in between. Prints both and the ratio;
# exits 1 when the ratio is over 1.10.
#   bench/serve/memory.sh [BUILD_DIR] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
runs=${2:-10000}
work=$(mktemp -d /tmp/bd-bench-serve.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

mkdir -p "$work/data" && touch "$work/data/backup.tar.gz"
cat >"$work/checklist.json" <<JSON
{"version": 1, "name": "memory", "checks": [
  {"id": "dir", "use": "files.exists", "with": {"path": "$work/data", "type": "dir"}},
  {"id": "file", "use": "files.exists", "with": {"path": "$work/data/backup.tar.gz"}},
  {"id": "mode", "use": "files.mode", "with": {"path": "$work/data", "max_mode": "0755"}}]}
JSON
"$build/bin/backup-doctor" serve "$work/checklist.json" --listen 127.0.0.1:0 --interval 10ms \
  2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/serve.log" >&2; exit 2; }

runs_done() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^backup_doctor_serve_runs_total / { print $2 }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
wait_runs() {
  while [ "$(runs_done)" -lt "$1" ]; do
    curl -s -o /dev/null "http://127.0.0.1:$port/report.json"
    sleep 0.2
  done
}
wait_runs 100
early=$(rss_kib)
started=$(date +%s)
wait_runs "$runs"
late=$(rss_kib)
ratio=$(awk -v a="$late" -v b="$early" 'BEGIN { printf "%.3f", a / b }')
printf '| runs | RSS after 100 | RSS after %s | ratio | time |\n|---|---|---|---|---|\n' "$runs"
printf '| %s | %s KiB | %s KiB | %s | %ss |\n' "$runs" "$early" "$late" "$ratio" "$(($(date +%s) - started))"
awk -v r="$ratio" 'BEGIN { exit (r > 1.10) ? 1 : 0 }'

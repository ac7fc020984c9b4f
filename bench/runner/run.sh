#!/usr/bin/env bash
# Benchmark: 200 cheap `files` checks through the runner vs a bash script doing the same with
# test/stat/find/grep/tail, in the same run, on the same generated tree.
#   bench/runner/run.sh [BUILD_DIR] [ROUNDS]
#   BASE_BUILD=/path/to/other/build bench/runner/run.sh ...   also times another build (say, main
#                                                            before a change) in the same rounds
# Prints wall times (best of ROUNDS) and the ratio; docs/performance.md records the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)  # absolute: relative plugin dirs are ignored
rounds=${2:-5}
bd=$build/bin/backup-doctor
[ -x "$bd" ] || { echo "build first: $bd missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 50 backup directories, each with 5 dated dumps, a log and a script.
for i in $(seq 1 50); do
  d=$work/tree/b$i
  mkdir -p "$d"
  for day in 1 2 3 4 5; do
    head -c $((20000 + day * 10)) /dev/zero >"$d/dump_$day.sql.gz"
    touch -d "-$day days" "$d/dump_$day.sql.gz"
  done
  seq 1 2000 | sed 's/^/line /' >"$d/backup.log"
  echo "ERROR: something failed" >>"$d/backup.log"
  printf '#!/bin/sh\n' >"$d/run.sh"
  chmod 755 "$d/run.sh"
done

# The checklist: per directory, exists + mode + freshness + log scan = 200 checks.
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
checks = []
for i in range(1, 51):
    d = f"{work}/tree/b{i}"
    checks += [
        {"id": f"exists-{i}", "use": "files.exists", "with": {"path": d, "type": "dir"}},
        {"id": f"mode-{i}", "use": "files.mode", "with": {"path": f"{d}/run.sh", "executable": True}},
        {"id": f"fresh-{i}", "use": "files.freshness",
         "with": {"path": d, "pattern": "*.sql.gz", "max_age": "25h"}},
        {"id": f"log-{i}", "use": "files.log_scan",
         "with": {"path": f"{d}/backup.log", "patterns": ["error", "fail", "exception"], "last_lines": 1000}},
    ]
json.dump({"version": 1, "name": "bench", "checks": checks}, open(f"{work}/checklist.json", "w"))
PY

# The same diagnostics the way the guide does them, one command at a time.
cat >"$work/guide.sh" <<'SH'
#!/usr/bin/env bash
tree=$1
for d in "$tree"/b*; do
  test -d "$d" || echo "missing $d"
  [ "$(stat -c %a "$d/run.sh")" = 755 ] && test -x "$d/run.sh" || echo "not executable $d/run.sh"
  newest=$(find "$d" -maxdepth 1 -name '*.sql.gz' -printf '%T@ %s %p\n' | sort -n | tail -1)
  age=$(( $(date +%s) - ${newest%%.*} ))
  [ "$age" -lt 90000 ] || echo "stale $d ($age s)"
  tail -n 1000 "$d/backup.log" | grep -inE 'error|fail|exception' | tail -10 >/dev/null && echo "errors in $d/backup.log"
done
SH
chmod +x "$work/guide.sh"

best() {  # best wall time in seconds of "$@" over $rounds runs
  local best_t=999999 t s e
  for _ in $(seq 1 "$rounds"); do
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if (( $(echo "$t < $best_t" | bc -l) )); then best_t=$t; fi
  done
  echo "$best_t"
}

"$bd" run "$work/checklist.json" --format json >"$work/report.json" || true
python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["results"]) == 200, len(r["results"])
print("runner results:", r["counts"])
PY
t_bd=$(best "$bd" run "$work/checklist.json" --format json --no-progress)
t_bd1=$(best "$bd" run "$work/checklist.json" --format json --no-progress -j 1)
t_sh=$(best "$work/guide.sh" "$work/tree")
if [ -n "${BASE_BUILD:-}" ]; then
  base_bd=$(cd "$BASE_BUILD" && pwd)/bin/backup-doctor
  t_base=$(best "$base_bd" run "$work/checklist.json" --format json --no-progress)
  t_base1=$(best "$base_bd" run "$work/checklist.json" --format json --no-progress -j 1)
fi
printf 'backup-doctor run (200 checks, -j default): %.3f s\n' "$t_bd"
printf 'backup-doctor run (200 checks, -j 1):       %.3f s\n' "$t_bd1"
printf 'bash script (test/stat/find/grep/tail):     %.3f s\n' "$t_sh"
printf 'ratio runner/script: %.2fx (goal <= 0.5x); with -j 1: %.2fx\n' \
  "$(echo "$t_bd / $t_sh" | bc -l)" "$(echo "$t_bd1 / $t_sh" | bc -l)"
if [ -n "${BASE_BUILD:-}" ]; then
  printf 'base build %s: %.3f s (-j default), %.3f s (-j 1); this build / base: %.2fx, %.2fx with -j 1\n' \
    "$BASE_BUILD" "$t_base" "$t_base1" "$(echo "$t_bd / $t_base" | bc -l)" "$(echo "$t_bd1 / $t_base1" | bc -l)"
fi
printf 'per-check cost with process isolation (-j 1): %.2f ms\n' "$(echo "$t_bd1 * 1000 / 200" | bc -l)"

# The isolation cost alone: 200 checks that do nothing (the fixture plugin's fixture.ok).
fixtures=$build/tests/fixtures/plugins
if [ -f "$fixtures/backup-doctor-fixture.so" ]; then
  python3 -c "
import json
print(json.dumps({'version': 1, 'checks': [{'id': f'noop-{i}', 'use': 'fixture.ok'} for i in range(200)]}))" >"$work/noop.json"
  "$bd" --plugin-dir "$fixtures" run "$work/noop.json" --format json >"$work/noop-report.json"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['counts']['ok'] == 200, r['counts']" \
    "$work/noop-report.json"
  t_noop1=$(best "$bd" --plugin-dir "$fixtures" run "$work/noop.json" --format json --no-progress -j 1)
  t_noop=$(best "$bd" --plugin-dir "$fixtures" run "$work/noop.json" --format json --no-progress)
  if [ -n "${BASE_BUILD:-}" ]; then
    base_fixtures=$(cd "$BASE_BUILD" && pwd)/tests/fixtures/plugins
    t_base_noop1=$(best "$base_bd" --plugin-dir "$base_fixtures" run "$work/noop.json" --format json --no-progress -j 1)
    printf 'base build: 200 no-op checks %.3f s with -j 1 (%.2f ms per check)\n' \
      "$t_base_noop1" "$(echo "$t_base_noop1 * 1000 / 200" | bc -l)"
  fi
  printf '200 no-op checks: %.3f s with -j 1 (%.2f ms per check: fork + pipe + reap), %.3f s with -j default\n' \
    "$t_noop1" "$(echo "$t_noop1 * 1000 / 200" | bc -l)" "$t_noop"
fi

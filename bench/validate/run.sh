#!/usr/bin/env bash
# How `backup-doctor validate` scales with the number of checks, against `jq empty` reading the
# same file (the cost of merely parsing it) in the same run: a constant ratio means linear.
#   bench/validate/run.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
work=$(mktemp -d /tmp/bd-bench-validate.XXXXXX)
trap 'rm -rf "$work"' EXIT

seconds() { # best of 3 wall-clock seconds of a command
  local best=999 t
  for _ in 1 2 3; do
    /usr/bin/time -o "$work/time" -f %e "$@" >/dev/null 2>&1 || true
    t=$(tail -1 "$work/time")
    best=$(awk -v a="$t" -v b="$best" 'BEGIN { print (a < b) ? a : b }')
  done
  echo "$best"
}

printf '| checks | validate | jq empty | ratio | validate per 1,000 checks |\n|---|---|---|---|---|\n'
for n in 12500 25000 50000 100000 200000; do
  python3 - "$n" >"$work/list.json" <<'PY'
import json, sys
n = int(sys.argv[1])
checks = [{"id": f"c{i}", "use": "files.exists", "with": {"path": f"/srv/backups/{i}"},
           "tags": ["t"], **({"needs": [f"c{i-1}"]} if i % 10 else {})} for i in range(n)]
print(json.dumps({"version": 1, "name": "bench", "checks": checks}, indent=2))
PY
  v=$(seconds "$build/bin/backup-doctor" validate "$work/list.json")
  j=$(seconds jq empty "$work/list.json")
  awk -v n="$n" -v v="$v" -v j="$j" \
    'BEGIN { printf "| %d | %.2f s | %.2f s | %.1fx | %.1f ms |\n", n, v, j, v / j, v * 1e6 / n }'
done

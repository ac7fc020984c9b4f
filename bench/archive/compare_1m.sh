#!/usr/bin/env bash
# archive.compare_source on a tree of a million files (the issue's scale requirement):
# creates N small files in a temp dir, archives them with GNU tar + gzip, changes a few, then
# times the check through the CLI (or the run_check driver) and prints wall time and peak RSS.
#   bench/archive/compare_1m.sh [--files N] [--dir DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
files=1000000
base=${TMPDIR:-/tmp}
while (($#)); do
  case $1 in
    --files) files=$2; shift 2 ;;
    --dir) base=$2; shift 2 ;;
    *) echo "usage: $0 [--files N] [--dir DIR]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d "$base/bd-archive-1m.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== creating $files files in $work/app" >&2
python3 - "$work/app" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per_dir = 1000
for d in range((n + per_dir - 1) // per_dir):
    sub = os.path.join(root, "d%04d" % (d // 100), "s%03d" % d)
    os.makedirs(sub)
    for i in range(min(per_dir, n - d * per_dir)):
        with open(os.path.join(sub, "f%04d.txt" % i), "w") as f:
            f.write("%d\n" % (d * per_dir + i))
PY
touch -d '-1 hour' "$work/app"
find "$work/app" -exec touch -h -d '-2 hours' {} +
tar -czf "$work/app.tar.gz" -C "$work" app
touch -d '-1 hour' "$work/app.tar.gz"
# Differences: 3 added after the archive, 2 removed, 1 resized after, 1 the backup missed.
echo new >"$work/app/d0000/s000/added1.txt"
echo new >"$work/app/d0000/s001/added2.txt"
echo new >"$work/app/d0001/s100/added3.txt"
rm "$work/app/d0000/s000/f0000.txt" "$work/app/d0002/s200/f0005.txt"
echo "longer content" >"$work/app/d0003/s300/f0007.txt"
echo missed >"$work/app/d0004/s400/missed.txt" && touch -d '-3 hours' "$work/app/d0004/s400/missed.txt"
printf '{"version":1,"name":"1m","checks":[{"id":"compare","use":"archive.compare_source","with":{"path":"%s","source":"%s"},"timeout":"30m"}]}\n' \
  "$work/app.tar.gz" "$work/app" >"$work/list.json"
sync
if "$build/bin/backup-doctor" run --help >/dev/null 2>&1; then
  cmd=("$build/bin/backup-doctor" run "$work/list.json" --format json --no-progress)
else
  cc -O2 -I "$root/sdk/include" "$root/bench/archive/run_check.c" -ldl -o "$work/run_check"
  cmd=("$work/run_check" "$build/lib/backup-doctor/plugins/backup-doctor-archive.so" archive.compare_source
    "{\"path\":\"$work/app.tar.gz\",\"source\":\"$work/app\"}")
fi
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), archive $(stat -c %s "$work/app.tar.gz") bytes" >&2
for run in 1 2; do
  # exit 2: the check found the planted differences
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "${cmd[@]}" >"$work/out.json" || true
  read -r wall rss user sys < <(tail -1 "$work/time")
  python3 - "$work/out.json" "$wall" "$rss" "$user" "$sys" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"][0] if "results" in d else d
det = r["details"]
print("run: %ss wall, %ss cpu, peak RSS %s KiB | %s | %s files in source, %s in archive; not_in_archive %d, added %d, removed %d, changed %d" % (
    sys.argv[2], round(float(sys.argv[4]) + float(sys.argv[5]), 2), sys.argv[3], r["status"], det["source_files"], det["archive_files"],
    det["not_in_archive"]["count"], det["added_since"]["count"], det["removed_since"]["count"], det["changed_since"]["count"]))
PY
done

#!/usr/bin/env bash
# Benchmark of archive.verify (gzip integrity + tar walk + SHA-256 against the sidecar, one
# pass) against the commands it replaces, in one run on the same files:
#   gzip -t; tar -tzf >/dev/null; sha256sum; the guide's three commands in sequence
#   (gzip -t && tar -tzf && sha256sum -c); igzip -t (ISA-L, gzip layer only);
#   and for scale a .tar.zst against zstd -t.
#
#   bench/archive/bench.sh [--size-mib N] [--runs N] [--dir DIR]
#   BASE_BUILD=/other/build bench/archive/bench.sh ...   also times that build's archive.verify
#                                                       (say, main before a change) in the same rounds
#
# Makes a ~1 GiB tree of mixed compressible/incompressible files (make_tree.py), archives it
# with GNU tar + gzip (and tar | zstd), removes the tree, times every command --runs times on a
# warm page cache, round by round, and prints best and median wall time, CPU time, peak RSS and
# the ratios of the medians.
# Everything it creates lives in one temp directory that is removed at the end.
# Uses build/bin/backup-doctor (BUILD_DIR overrides) when its `run` works, otherwise compiles
# bench/archive/run_check.c, which loads the plugin through the plugin ABI the same way.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
size_mib=1024
runs=3
base=${TMPDIR:-/tmp}
while (($#)); do
  case $1 in
    --size-mib) size_mib=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --dir) base=$2; shift 2 ;;
    *) echo "usage: $0 [--size-mib N] [--runs N] [--dir DIR]" >&2; exit 2 ;;
  esac
done
for tool in tar gzip igzip sha256sum zstd python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/setup; /usr/bin/time is Debian's 'time')" >&2; exit 1; }
done
plugin="$build/lib/backup-doctor/plugins/backup-doctor-archive.so"
[ -f "$plugin" ] || { echo "bench: build the archive plugin first ($plugin)" >&2; exit 1; }

work=$(mktemp -d "$base/bd-archive-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== generating ${size_mib} MiB tree and archives in $work" >&2
python3 "$root/bench/archive/make_tree.py" "$work/tree" --size-mib "$size_mib" >&2
tar -czf "$work/files.tar.gz" -C "$work" tree
tar -cf - -C "$work" tree | zstd -q -3 -T0 -o "$work/files.tar.zst"
rm -rf "$work/tree"
(cd "$work" && sha256sum files.tar.gz >files.tar.gz.sha256 && sha256sum files.tar.zst >files.tar.zst.sha256)

if "$build/bin/backup-doctor" run --help >/dev/null 2>&1; then
  runner=cli
else
  cc -O2 -I "$root/sdk/include" "$root/bench/archive/run_check.c" -ldl -o "$work/run_check"
  runner=driver
fi
verify_cmd() { # $1 = archive, $2 = build directory (default: this one)
  local list bd_build=${2:-$build}
  list="$work/verify-$(basename "$1").json"
  printf '{"version":1,"name":"bench","checks":[{"id":"verify","use":"archive.verify","with":{"path":"%s"},"timeout":"30m"}]}\n' "$1" >"$list"
  if [ "$runner" = cli ]; then
    echo "$bd_build/bin/backup-doctor run $list --format json --no-progress"
  else
    echo "$work/run_check $plugin archive.verify {\"path\":\"$1\"}"
  fi
}

# Every command is timed once per round, rounds repeated --runs times, so a change in the
# machine's load during the run shifts all of them alike instead of favouring whichever ran
# first. time_once NAME COMMAND...: one timing, appended to the NAME's lists.
declare -A times cpus rss best median cpu
time_once() {
  local name=$1 t r u s
  shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
    # the guide's commands exit 0 on a healthy archive; anything else is a bench problem
    echo "bench: $name failed:" >&2; cat "$work/err" >&2; exit 1; }
  read -r t r u s <"$work/time"
  times[$name]+="$t "
  cpus[$name]+="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }') "
  ((r > ${rss[$name]:-0})) && rss[$name]=$r
  return 0
}
summarize() { # NAME: best and median wall, best CPU
  local name=$1
  best[$name]=$(printf '%s\n' ${times[$name]} | sort -n | head -1)
  median[$name]=$(printf '%s\n' ${times[$name]} | sort -n | sed -n "$(((runs + 1) / 2))p")
  cpu[$name]=$(printf '%s\n' ${cpus[$name]} | sort -n | head -1)
  printf '%-40s best %6.2fs  median %6.2fs  cpu %6.2fs  peak RSS %7d KiB\n' \
    "$name" "${best[$name]}" "${median[$name]}" "${cpu[$name]}" "${rss[$name]}" >&2
}

gz="$work/files.tar.gz"
zst="$work/files.tar.zst"
read -r -a verify_gz <<<"$(verify_cmd "$gz")"
read -r -a verify_zst <<<"$(verify_cmd "$zst")"
if [ -n "${BASE_BUILD:-}" ]; then
  [ "$runner" = cli ] || { echo "bench: BASE_BUILD needs the CLI runner" >&2; exit 1; }
  read -r -a verify_base <<<"$(verify_cmd "$gz" "$(cd "$BASE_BUILD" && pwd)")"
fi
# The verdict must be ok, or the timing means nothing.
"${verify_gz[@]}" | grep -q '"status": *"ok"' || { echo "bench: archive.verify did not report ok" >&2; "${verify_gz[@]}" >&2; exit 1; }
cat "$gz" "$zst" >/dev/null # warm the page cache: every command reads from memory

echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(stat -c %s "$gz") bytes gzip, $(stat -c %s "$zst") bytes zstd, runner: $runner, $runs runs each" >&2
names=("archive.verify (.tar.gz)" "gzip -t" "tar -tzf >/dev/null" "sha256sum"
  "guide: gzip -t; tar -tzf; sha256sum -c" "igzip -t" "archive.verify (.tar.zst)" "zstd -t")
[ -n "${BASE_BUILD:-}" ] && names+=("base build archive.verify (.tar.gz)")
for ((round = 1; round <= runs; round++)); do
  echo "   round $round/$runs" >&2
  time_once "archive.verify (.tar.gz)" "${verify_gz[@]}"
  time_once "igzip -t" igzip -t "$gz"
  time_once "gzip -t" gzip -t "$gz"
  time_once "tar -tzf >/dev/null" tar -tzf "$gz"
  time_once "sha256sum" sha256sum "$gz"
  time_once "guide: gzip -t; tar -tzf; sha256sum -c" sh -c "gzip -t '$gz' && tar -tzf '$gz' >/dev/null && cd '$work' && sha256sum -c files.tar.gz.sha256"
  time_once "archive.verify (.tar.zst)" "${verify_zst[@]}"
  time_once "zstd -t" zstd -q -t "$zst"
  if [ -n "${BASE_BUILD:-}" ]; then time_once "base build archive.verify (.tar.gz)" "${verify_base[@]}"; fi
done
for name in "${names[@]}"; do summarize "$name"; done

# Ratios of the medians (the best-of-N ratio in brackets).
ratio() {
  awk -v a="${median[$1]}" -v b="${median[$2]}" -v c="${best[$1]}" -v d="${best[$2]}" \
    'BEGIN { printf "%.3f  [best %.3f]", a / b, c / d }'
}
echo
echo "archive.verify / gzip -t                 = $(ratio "archive.verify (.tar.gz)" "gzip -t")x  (goal <= 0.37)"
echo "archive.verify / guide's three commands  = $(ratio "archive.verify (.tar.gz)" "guide: gzip -t; tar -tzf; sha256sum -c")x  (goal <= 0.15)"
echo "archive.verify / igzip -t                = $(ratio "archive.verify (.tar.gz)" "igzip -t")x  (goal <= 1.0)"
echo "archive.verify / tar -tzf                = $(ratio "archive.verify (.tar.gz)" "tar -tzf >/dev/null")x"
echo "archive.verify / sha256sum               = $(ratio "archive.verify (.tar.gz)" "sha256sum")x"
echo "archive.verify .tar.zst / zstd -t        = $(ratio "archive.verify (.tar.zst)" "zstd -t")x"
if [ -n "${BASE_BUILD:-}" ]; then
  echo "archive.verify / base build's            = $(ratio "archive.verify (.tar.gz)" "base build archive.verify (.tar.gz)")x"
fi
# Where the CPU goes: the decompressing thread is the critical path when the hashing thread has a
# core of its own; on a loaded machine both compete with everything else.
"${verify_gz[@]}" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d["results"][0]["details"] if "results" in d else d["details"]
c = d["cpu_seconds"]
print("archive.verify thread CPU (.tar.gz): decompress+walk %.2fs, read+hash %.2fs" % (c["decompress_and_walk"], c["read_and_hash"]))'
echo "igzip -t CPU: ${cpu["igzip -t"]}s; archive.verify total CPU: ${cpu["archive.verify (.tar.gz)"]}s"
echo "peak RSS archive.verify: ${rss["archive.verify (.tar.gz)"]} KiB (.tar.gz), ${rss["archive.verify (.tar.zst)"]} KiB (.tar.zst)"

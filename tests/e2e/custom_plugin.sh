#!/usr/bin/env bash
# Installs backup-doctor into a temporary prefix, builds examples/custom-plugin against the
# installed SDK with find_package(BackupDoctorSDK), then loads and runs it with the installed
# binary; also checks the pkg-config file and that the installed binary finds its own plugins.
set -euo pipefail
src=$1 build=$2
. "$(dirname "$0")/common.sh"

quiet cmake --install "$build" --prefix "$tmp/prefix"
bd=$tmp/prefix/bin/backup-doctor
[ -x "$bd" ] || fail "no installed binary"
[ -f "$tmp/prefix/include/backup_doctor/plugin_abi.h" ] || fail "SDK header not installed"
[ -f "$tmp/prefix/lib/cmake/BackupDoctorSDK/BackupDoctorSDKConfig.cmake" ] || fail "no CMake package config"

# The installed binary finds the installed plugins with no flags.
env -u BACKUP_DOCTOR_PLUGIN_PATH "$bd" plugins >"$tmp/plugins.txt"
grep -q "^files " "$tmp/plugins.txt" || fail "installed binary does not list the installed files plugin: $(cat "$tmp/plugins.txt")"

# pkg-config knows the SDK.
incdir=$(PKG_CONFIG_PATH=$tmp/prefix/share/pkgconfig pkg-config --cflags-only-I backup-doctor-sdk | sed 's/^-I//; s/ *$//')
[ -f "$incdir/backup_doctor/plugin_abi.h" ] || fail "pkg-config --cflags backup-doctor-sdk points at '$incdir'"

# Out of tree: nothing from the source tree but the example's own directory.
cp -r "$src/examples/custom-plugin" "$tmp/acme-src"
quiet cmake -S "$tmp/acme-src" -B "$tmp/acme-build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix"
quiet cmake --build "$tmp/acme-build"
[ -f "$tmp/acme-build/backup-doctor-acme.so" ] || fail "plugin not built"
# (Against an SDK from the sanitizer tree the linker also defines the bounds of libFuzzer's
# coverage sections, __start___sancov_* and __stop___sancov_*: not the plugin's symbols.)
exported=$(nm -D --defined-only "$tmp/acme-build/backup-doctor-acme.so" \
  | awk '$2 ~ /^[TDB]$/ && $3 !~ /^__(start|stop)___sancov_/ {print $3}')
[ "$exported" = "backup_doctor_plugin_entry" ] || fail "plugin exports more than its entry symbol: $exported"

# (Output captured first: grep -q closing the pipe early would fail the pipeline.)
listing=$("$bd" --plugin-dir "$tmp/acme-build" plugins)
grep -q "acme 1.0.0  (ABI 1.0)" <<<"$listing" || fail "acme plugin not loaded: $listing"

# Installed into backup-doctor's own prefix, it loads with no flags, like the bundled plugins.
quiet cmake --install "$tmp/acme-build" --prefix "$tmp/prefix"
[ -f "$tmp/prefix/lib/backup-doctor/plugins/backup-doctor-acme.so" ] \
  || fail "cmake --install did not put the plugin in the prefix's plugin directory: $(find "$tmp/prefix" -name '*acme*')"
listing=$(env -u BACKUP_DOCTOR_PLUGIN_PATH "$bd" plugins)
grep -q "acme 1.0.0  (ABI 1.0)" <<<"$listing" || fail "installed acme plugin not loaded from the prefix: $listing"

now=$(date +%s)
printf 'status=success finished=%s\n' "$now" >"$tmp/ok-marker"
printf 'status=failed finished=%s\n' "$now" >"$tmp/bad-marker"
out=$("$bd" --plugin-dir "$tmp/acme-build" run "$tmp/acme-src/checklist.json" --var "marker=$tmp/ok-marker") \
  || fail "healthy marker: exit $?: $out"
grep -q "OK    acme-job  the last ACME backup job succeeded" <<<"$out" || fail "unexpected output: $out"
set +e
out=$("$bd" --plugin-dir "$tmp/acme-build" run "$tmp/acme-src/checklist.json" --var "marker=$tmp/bad-marker")
code=$?
set -e
[ "$code" = 2 ] || fail "failed marker: expected exit 2, got $code"
grep -q "ended with status 'failed'" <<<"$out" || fail "unexpected output: $out"

# The marker is the backup account's file: read through the SDK's safe-open primitive, a link
# to it is refused (an error, exit 3), and so is a marker whose time is not a number.
ln -s "$tmp/ok-marker" "$tmp/link-marker"
printf 'status=success finished=soon\n' >"$tmp/garbled-marker"
for marker in link-marker garbled-marker; do
  set +e
  out=$("$bd" --plugin-dir "$tmp/acme-build" run "$tmp/acme-src/checklist.json" --var "marker=$tmp/$marker")
  code=$?
  set -e
  [ "$code" = 3 ] || fail "$marker: expected exit 3, got $code: $out"
  grep -q "ERROR acme-job" <<<"$out" || fail "$marker: unexpected output: $out"
done
grep -q "not a unix time" <<<"$out" || fail "garbled marker: unexpected output: $out"
echo "custom plugin built against the installed SDK loads and runs"

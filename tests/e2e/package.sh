#!/usr/bin/env bash
# Builds the Debian packages from the build tree as a release would (cpack, cmake/Packaging.cmake),
# lints them (lintian: no errors), checks their dependencies, then extracts both into a scratch
# root and runs the product from there: version, the seven bundled plugins, validate of the
# installed example, the man pages (man --warnings) and the bash completion.
set -euo pipefail
src=$1 build=$2
. "$(dirname "$0")/common.sh"

quiet cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out"
debs=("$tmp"/out/backup-doctor_*.deb)
devs=("$tmp"/out/backup-doctor-dev_*.deb)
[ -f "${debs[0]}" ] && [ -f "${devs[0]}" ] || fail "cpack made no backup-doctor and backup-doctor-dev packages: $(ls "$tmp/out")"
deb=${debs[0]} dev=${devs[0]}

# lintian exits non-zero on errors (warnings are listed but allowed; docs/architecture.md).
lint=$(lintian --allow-root "$deb" "$dev" 2>&1) || fail "lintian found errors:
$lint"

# Depends come from what the binary and the plugins link (dpkg-shlibdeps).
# (Names as prefixes: Debian renames some, e.g. libssl3t64, libspdlog1.10-fmt9.)
depends=$(dpkg-deb -f "$deb" Depends)
names=$(sed 's/ *([^)]*)//g; s/, */\n/g' <<<"$depends")
for lib in libc6 libstdc++6 libpq5 libarchive13 libcurl4 libssl3 libselinux1 libboost-filesystem \
  libspdlog libxml2 libisal2; do
  awk -v lib="$lib" 'index($0, lib) == 1 {found = 1} END {exit !found}' <<<"$names" \
    || fail "backup-doctor does not depend on $lib: $depends"
done
version=$(dpkg-deb -f "$deb" Version)
dev_depends=$(dpkg-deb -f "$dev" Depends)
grep -Fq "backup-doctor (= $version)" <<<"$dev_depends" || fail "backup-doctor-dev does not depend on backup-doctor $version: $dev_depends"
grep -Fq "nlohmann-json3-dev" <<<"$dev_depends" || fail "backup-doctor-dev does not depend on nlohmann-json3-dev: $dev_depends"

root=$tmp/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -x "$dev" "$root"
cd "$root"

# Nothing installed names the build or source tree, and no ELF file carries an RPATH.
for tree in "$build" "$src"; do
  if leaks=$(grep -rlF "$tree" .); then fail "files that name $tree: $leaks"; fi
done
while IFS= read -r elf; do
  if readelf -d "$elf" | grep -Eq '\((RPATH|RUNPATH)\)'; then fail "$elf has an RPATH"; fi
done < <(find usr/bin usr/lib -type f \( -name '*.so' -o -perm -u+x \))

bd=usr/bin/backup-doctor
out=$(env -u BACKUP_DOCTOR_PLUGIN_PATH "$bd" version) || fail "version: $out"
grep -q "^backup-doctor ${version%-*} (plugin ABI " <<<"$out" || fail "version says: $out"

# All seven bundled plugins load from the extracted tree, with no flags; none is refused.
plugins=$(env -u BACKUP_DOCTOR_PLUGIN_PATH "$bd" plugins) || fail "plugins: $plugins"
for name in archive files pg resources rsync s3 selinux; do
  grep -Fq "$name 1.0.0  (ABI 1.0)  $root/usr/lib/backup-doctor/plugins/backup-doctor-$name.so" <<<"$plugins" \
    || fail "plugin $name not loaded from the package: $plugins"
done
if grep -q "^refused" <<<"$plugins"; then fail "plugins refused: $plugins"; fi

example=usr/share/backup-doctor/examples/trixtech/checklist.json
out=$(env -u BACKUP_DOCTOR_PLUGIN_PATH "$bd" validate "$example") || fail "validate $example: $out"
grep -q "valid (" <<<"$out" || fail "validate $example says: $out"
out=$(env -u BACKUP_DOCTOR_PLUGIN_PATH "$bd" validate "$example" --profile staging) \
  || fail "validate $example --profile staging (profiles/staging.json): $out"
[ -f usr/share/backup-doctor/checklist.schema.json ] || fail "no checklist schema in usr/share/backup-doctor"
# The default checklist, pointed at the example.
out=$(BACKUP_DOCTOR_CHECKLIST=$root/$example "$bd" validate) || fail "validate with BACKUP_DOCTOR_CHECKLIST: $out"

# init from the package: a host tree with a cron job and the script it runs; the starter
# checklist it writes validates with the packaged plugins.
mkdir -p "$tmp/host/etc/cron.d" "$tmp/host/opt/backup"
echo '0 2 * * * root /opt/backup/dump.sh >> /var/log/dump.log 2>&1' >"$tmp/host/etc/cron.d/backup"
printf '#!/bin/sh\npg_dump -h db1 shop | gzip > "/srv/dumps/shop_$(date +%%F).sql.gz"\n' >"$tmp/host/opt/backup/dump.sh"
chmod 0755 "$tmp/host/opt/backup/dump.sh"
out=$(env -u BACKUP_DOCTOR_PLUGIN_PATH "$bd" init --root "$tmp/host" -o "$tmp/starter.json" 2>&1) \
  || fail "init --root: $out"
grep -q "dump: /etc/cron.d/backup:1 runs /opt/backup/dump.sh (0 2 \* \* \*)" <<<"$out" || fail "init says: $out"
out=$(env -u BACKUP_DOCTOR_PLUGIN_PATH "$bd" validate "$tmp/starter.json") || fail "validate the init checklist: $out"

# Man pages: present, compressed, and free of groff/man warnings.
for page in usr/share/man/man1/backup-doctor.1.gz usr/share/man/man5/backup-doctor-checklist.5.gz; do
  [ -f "$page" ] || fail "no man page $page"
  warnings=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null) || fail "man $page failed: $warnings"
  [ -z "$warnings" ] || fail "man $page warns: $warnings"
done
for f in copyright changelog.Debian.gz; do
  [ -f "usr/share/doc/backup-doctor/$f" ] && [ -f "usr/share/doc/backup-doctor-dev/$f" ] || fail "no $f in usr/share/doc"
done
# (lintian does not compare them: a new version needs its entry in deploy/debian/changelog.)
top=$(zcat usr/share/doc/backup-doctor/changelog.Debian.gz | head -n 1)
[[ $top == "backup-doctor ($version) "* ]] || fail "deploy/debian/changelog's latest entry is not $version: $top"

# The bash completion completes check types from the packaged binary's plugins.
completion=usr/share/bash-completion/completions/backup-doctor
[ -f "$completion" ] || fail "no bash completion at $completion"
reply=$(env -u BACKUP_DOCTOR_PLUGIN_PATH bash -c '. "$1"; COMP_WORDS=("$2" describe files.fr); COMP_CWORD=2
  _backup_doctor; echo "${COMPREPLY[*]}"' _ "$completion" "$root/$bd")
[ "$reply" = "files.freshness" ] || fail "completion of 'describe files.fr' from the package: '$reply'"

# The SDK: the CMake package config and the pkg-config file find the extracted prefix.
[ -f usr/lib/cmake/BackupDoctorSDK/BackupDoctorSDKConfig.cmake ] || fail "no CMake package config"
[ -f usr/lib/cmake/BackupDoctorSDK/BackupDoctorPlugin.cmake ] || fail "no BackupDoctorPlugin.cmake"
[ -f usr/lib/libbackup_doctor_support.a ] || fail "no support library"
incdir=$(PKG_CONFIG_PATH=$root/usr/share/pkgconfig pkg-config --cflags-only-I backup-doctor-sdk | sed 's/^-I//; s/ *$//')
[ -f "$incdir/backup_doctor/plugin_abi.h" ] || fail "pkg-config --cflags backup-doctor-sdk points at '$incdir'"
# An out-of-tree plugin builds against the packaged SDK (its support library stripped of debug
# information) and loads in the packaged binary.
cp -r "$src/examples/custom-plugin" "$tmp/acme-src"
quiet cmake -S "$tmp/acme-src" -B "$tmp/acme-build" -G Ninja -DCMAKE_PREFIX_PATH="$root/usr"
quiet cmake --build "$tmp/acme-build"
listing=$("$bd" --plugin-dir "$tmp/acme-build" plugins)
grep -q "acme 1.0.0  (ABI 1.0)" <<<"$listing" || fail "acme plugin built against the package not loaded: $listing"

echo "packages built, lint-clean, and run from an extracted root: $(basename "$deb") $(basename "$dev")"

# shellcheck shell=bash disable=SC2154  # $tmp and fail come from tests/e2e/common.sh
# What the tests in this directory share (sourced after tests/e2e/common.sh): run_fixture BIN
# runs backup-doctor on a small checklist of files checks over $tmp/backups, leaving the textfile
# in $tmp/backup-doctor.prom. Backup sets: db-backup (newest dump 30h old and 1% of the usual
# size: fails), files (a fresh, intact archive: ok).
run_fixture() {
  local bin=$1 d rc=0
  mkdir -p "$tmp/backups/db" "$tmp/backups/files/src"
  for d in 3 2; do
    head -c 10000 /dev/urandom >"$tmp/backups/db/trixtech_day$d.sql.gz"
    touch -d "-$d days" "$tmp/backups/db/trixtech_day$d.sql.gz"
  done
  head -c 100 /dev/urandom >"$tmp/backups/db/trixtech_day1.sql.gz"
  touch -d "-30 hours" "$tmp/backups/db/trixtech_day1.sql.gz"
  echo data >"$tmp/backups/files/src/a.txt"
  tar -czf "$tmp/backups/files/files.tar.gz" -C "$tmp/backups/files" src
  cat >"$tmp/checklist.json" <<JSON
{"version": 1, "name": "fleet test", "checks": [
  {"id": "db-fresh", "use": "files.freshness", "group": "db-backup", "severity": "critical",
   "with": {"path": "$tmp/backups/db", "pattern": "*.sql.gz", "max_age": "25h", "min_ratio": 0.5}},
  {"id": "files-fresh", "use": "files.freshness", "group": "files", "severity": "warning",
   "with": {"path": "$tmp/backups/files", "pattern": "*.tar.gz", "max_age": "25h"}},
  {"id": "files-verify", "use": "archive.verify", "group": "files", "severity": "critical",
   "with": {"path": "$tmp/backups/files/files.tar.gz"}}
]}
JSON
  "$bin" run "$tmp/checklist.json" --no-progress --report "prometheus=$tmp/backup-doctor.prom" \
    >"$tmp/run.txt" 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "run exited $rc, expected 2 (db-fresh fails): $(cat "$tmp/run.txt")"
}

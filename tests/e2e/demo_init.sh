#!/usr/bin/env bash
# Issue 14's acceptance, end to end: `scripts/demo --init` plants every fault of the demo in a
# sandbox laid out as a host (crontab, systemd timer, scripts, postgresql.conf: demo.d/70-jobs.sh),
# runs `backup-doctor init --root` on it and then the checklist it wrote. Every planted fault must
# be reported, under its backup set, and the consequences under their causes.
set -euo pipefail
src=$1 build=$2
. "$(dirname "$0")/common.sh"

status=0
DEMO_PREBUILT=1 BUILD_DIR=$build NO_COLOR=1 "$src/scripts/demo" --init -f json >"$tmp/report.json" \
  2>"$tmp/demo.log" || status=$?
[ "$status" -eq 0 ] || fail "scripts/demo --init exited $status: $(tail -20 "$tmp/demo.log")"
grep -q "Set before running: DB_PASSWORD" "$tmp/demo.log" || fail "init did not ask for DB_PASSWORD: $(cat "$tmp/demo.log")"

python3 - "$tmp/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
results = {r["id"]: r for r in report["results"]}
# id: (status, group, caused_by or None)
expected = {
    "db-backup-script-executable": ("fail", "db-backup", None),
    "db-backup-log": ("fail", "db-backup", None),                   # No space left on device
    "db-backup-dump-usable": ("fail", "db-backup", "db-backup-log"),  # the truncated dump
    "db-backup-dump-intact": ("fail", "db-backup", "db-backup-log"),
    "db-backup-dump-fresh": ("warn", "db-backup", "db-backup-log"),   # 0.02x the median
    "db-backup-tools": ("fail", "db-backup", None),                 # trixtech-offsite-upload
    "db-backup-db-privileges": ("fail", "db-backup", None),         # invoices not granted
    "db-backup-db-role": ("warn", "db-backup", None),               # password expiring
    "db-backup-s3-fresh": ("fail", "db-backup", None),              # 3 days old in S3
    "db-backup-s3-object-matches": ("fail", "db-backup", "db-backup-s3-fresh"),
    "db-backup-s3-multipart-leftovers": ("warn", "db-backup", None),
    "files-backup-archive-fresh": ("fail", "files-backup", None),   # 29 hours old
    "files-backup-archive-intact": ("fail", "files-backup", None),  # truncated
    "files-backup-archive-2-intact": ("fail", "files-backup", None),  # latest.tar.gz checksum
    "files-backup-archive-2-matches-source": ("fail", "files-backup", "files-backup-archive-2-intact"),
    "files-backup-archive-leftovers": ("warn", "files-backup", None),  # backup.tmp
    "trixtech-sync-rsync-paths": ("fail", "trixtech-sync", None),   # volume not mounted
    "trixtech-sync-rsync-dry-run-2": ("fail", "trixtech-sync", None),  # unreadable secrets.env
    "wal-archive-archiving": ("fail", "wal-archive", None),
    "host-backup-processes": ("fail", "host", None),                # stopped rsync, hung pg_dump
    "host-selinux-denials": ("fail", "host", None),
}
problems = []
for cid, (status, group, cause) in expected.items():
    r = results.get(cid)
    if r is None:
        problems.append(f"{cid}: not in the report")
        continue
    got = (r["status"], r.get("group"), r.get("caused_by"))
    if got != (status, group, cause):
        problems.append(f"{cid}: {got} instead of {(status, group, cause)}: {r['summary']}")
errors = [f"{r['id']}: {r['summary']}" for r in report["results"] if r["status"] == "error"]
if problems or errors:
    sys.exit("\n".join(problems + ["unexpected errors:"] + errors if errors else problems))
PY

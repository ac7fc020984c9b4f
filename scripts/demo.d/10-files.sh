# Demo fragment for the files plugin (sourced by scripts/demo with $SANDBOX set).
# Plants, under $SANDBOX: backup directories with a history of daily dumps whose newest one is
# truncated, file archives whose newest is 30 hours old, a database backup log whose last run
# failed, a backup script without its execute bit, and a required upload tool that does not
# exist. Everything else is set up correctly so that only the planted problems show.

demo_files_user=backup-doctor-test # created by scripts/setup

# The backup user must be able to walk into the sandbox, as it can into /opt.
chmod 0755 "$SANDBOX"
mkdir -p "$SANDBOX"/backups/{database,files} "$SANDBOX"/log "$SANDBOX"/scripts "$SANDBOX"/app

# Database dumps: six nights of real gzipped SQL, then tonight's, cut short after 4 KiB.
demo_files_dump() { # $1 = rows
  {
    echo "-- PostgreSQL database dump (trixtech)"
    echo "CREATE TABLE bookings (id integer, customer text, starts_at timestamptz);"
    seq 1 "$1" | sed 's/.*/INSERT INTO bookings VALUES (&, '\''customer-&'\'', now());/'
  } | gzip -6
}
for day in 1 2 3 4 5 6; do
  f="$SANDBOX/backups/database/trixtech_$(date -u -d "-$day days" +%Y%m%d).sql.gz"
  demo_files_dump $((40000 + day * 100)) >"$f"
  touch -d "-$day days -2 hours" "$f"
done
newest="$SANDBOX/backups/database/trixtech_$(date -u +%Y%m%d).sql.gz"
demo_files_dump 41000 >"$SANDBOX/full-dump.tmp" # (not piped into head: pipefail + SIGPIPE)
head -c 4096 "$SANDBOX/full-dump.tmp" >"$newest"
rm -f "$SANDBOX/full-dump.tmp"
touch -d "-2 hours" "$newest"

# File archives: the job stopped running; the newest is 30 hours old.
for i in $(seq 1 200); do echo "booking page $i" >"$SANDBOX/app/page$i.html"; done
for age in 30 54 78; do
  f="$SANDBOX/backups/files/trixtech_files_$(date -u -d "-$age hours" +%Y%m%d%H).tar.gz"
  tar -czf "$f" -C "$SANDBOX" app
  touch -d "-$age hours" "$f"
done

chown -R "$demo_files_user:$demo_files_user" "$SANDBOX/backups"
chmod 0755 "$SANDBOX/backups" "$SANDBOX/backups/files"
chmod 0700 "$SANDBOX/backups/database"
chmod 0600 "$SANDBOX"/backups/database/*
chmod 0640 "$SANDBOX"/backups/files/*

# Logs: the database job failed after its last success; the files job last succeeded.
{
  for day in 3 2; do
    echo "$(date -u -d "-$day days" '+%F') 02:00:01 Starting backup of trixtech"
    echo "$(date -u -d "-$day days" '+%F') 02:04:12 pg_dump finished, 41 tables"
    echo "$(date -u -d "-$day days" '+%F') 02:04:20 Backup completed successfully"
  done
  echo "$(date -u '+%F') 02:00:01 Starting backup of trixtech"
  echo "$(date -u '+%F') 02:00:09 pg_dump: error: could not write to output file: No space left on device"
  echo "$(date -u '+%F') 02:00:09 gzip: stdout: No space left on device"
  echo "$(date -u '+%F') 02:00:10 upload to s3://trixtech-backups/database FAILED: source file incomplete"
} >"$SANDBOX/log/db_backup.log"
{
  echo "$(date -u -d '-30 hours' '+%F %T') Starting files backup"
  echo "$(date -u -d '-30 hours' '+%F %T') Backup completed successfully"
} >"$SANDBOX/log/files_backup.log"

# Scripts: db_backup.sh lost its execute bit (e.g. copied over by a deploy).
for s in db_backup files_backup daily_verify; do
  printf '#!/bin/sh\nset -eu\necho "%s"\n' "$s" >"$SANDBOX/scripts/$s.sh"
  chmod 0755 "$SANDBOX/scripts/$s.sh"
done
chmod 0644 "$SANDBOX/scripts/db_backup.sh"

DEMO_VARS+=(
  --var "backup_dir=$SANDBOX/backups"
  --var "log_dir=$SANDBOX/log"
  --var "scripts_dir=$SANDBOX/scripts"
  --var "backup_user=$demo_files_user"
  --var "backup_group=$demo_files_user"
  # A tool the backup job needs that is not installed anywhere.
  --var "upload_tool=trixtech-offsite-upload"
)
unset demo_files_user newest f day age i s
unset -f demo_files_dump

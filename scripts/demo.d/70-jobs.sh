# Demo fragment for `backup-doctor init` (sourced by scripts/demo with $SANDBOX set, after the
# plugins' fragments). Writes the configuration of the host the other fragments planted data
# for, with $SANDBOX as its root: the crontab and scripts of the runbook's nightly database and
# files jobs, a systemd timer for the rsync copies, PostgreSQL's archive_command, the audit log
# where auditd keeps it. `scripts/demo --init` then runs `init --root $SANDBOX` and the
# checklist it writes, instead of the hand-written example. Paths in these files are the
# sandbox's own (/backups is $SANDBOX/backups); hosts and ports are the demo's servers.

demo_jobs_user=backup-doctor-test
# The servers' ports, as the other fragments handed them to the example checklist.
demo_jobs_var() {
  local i
  for ((i = 0; i < ${#DEMO_VARS[@]}; i++)); do
    case ${DEMO_VARS[$i]} in "$1="*) echo "${DEMO_VARS[$i]#*=}" ;; esac
  done | tail -n1
}
demo_jobs_pg_port=$(demo_jobs_var db_port)
demo_jobs_s3_endpoint=$(demo_jobs_var s3_endpoint)
demo_jobs_ssh_port=$(demo_jobs_var rsync_ssh_port)
mkdir -p "$SANDBOX"/etc/{cron.d,backup,systemd/system/timers.target.wants,postgresql/15/main} \
  "$SANDBOX/usr/local/bin" "$SANDBOX/var/log/audit" "$SANDBOX/home/$demo_jobs_user"

{
  echo "root:x:0:0:root:/root:/bin/bash"
  echo "postgres:x:$(id -u postgres 2>/dev/null || echo 106):$(id -g postgres 2>/dev/null || echo 106)::/var/lib/postgresql:/bin/bash"
  echo "$demo_jobs_user:x:$(id -u $demo_jobs_user):$(id -g $demo_jobs_user)::/home/$demo_jobs_user:/bin/sh"
} >"$SANDBOX/etc/passwd"
echo "trixtech-backup01" >"$SANDBOX/etc/hostname"

cat >"$SANDBOX/etc/backup/backup.conf" <<CONF
# Shared by the backup scripts
DB_HOST=127.0.0.1
DB_PORT=$demo_jobs_pg_port
DB_USER=backup_user
DB_NAME=trixtech
S3_ENDPOINT=$demo_jobs_s3_endpoint
S3_BUCKET=trixtech-backups
CONF

cat >"$SANDBOX/etc/cron.d/backup" <<CRON
# TRIXTECH backups (the runbook's jobs)
MAILTO=ops@trixtech.example
0 2 * * * $demo_jobs_user /scripts/db_backup.sh >> /log/db_backup.log 2>&1
0 3 * * * $demo_jobs_user /scripts/files_backup.sh >> /log/files_backup.log 2>&1
CRON

# The scripts keep the modes 10-files.sh gave them (db_backup.sh lost its execute bit).
cat >"$SANDBOX/scripts/db_backup.sh" <<'SCRIPT'
#!/bin/bash
# Nightly dump of the booking database, then the copies off the host.
set -euo pipefail
. /etc/backup/backup.conf
FILE="/backups/database/${DB_NAME}_$(date +%Y%m%d).sql.gz"
echo "$(date '+%F %T') Starting backup of $DB_NAME"
PGPASSWORD="$DB_PASSWORD" pg_dump -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" "$DB_NAME" | gzip > "$FILE"
# The off-site copy goes up from a fixed name, so a failed dump never overwrites it half-way.
cp "$FILE" /s3/latest.sql.gz
aws --endpoint-url "$S3_ENDPOINT" s3 cp /s3/latest.sql.gz "s3://$S3_BUCKET/database/$(basename "$FILE")"
trixtech-offsite-upload "$FILE"
echo "$(date '+%F %T') Backup completed successfully"
SCRIPT

cat >"$SANDBOX/scripts/files_backup.sh" <<'SCRIPT'
#!/bin/sh
# Application files: a dated archive, and latest.tar.gz written to a temporary name first.
set -e
cd /backups/files
F="trixtech_files_$(date +%Y%m%d%H).tar.gz"
tar -czf "$F" -C / opt/trixtech
sha256sum "$F" > "$F.sha256"
tar -czf backup.tmp -C / opt/trixtech && mv backup.tmp latest.tar.gz
sha256sum latest.tar.gz > latest.tar.gz.sha256
echo "$(date '+%F %T') Backup completed successfully"
SCRIPT

cat >"$SANDBOX/etc/systemd/system/trixtech-sync.timer" <<'UNIT'
[Unit]
Description=Copy the application tree to the backup volume and off site

[Timer]
OnCalendar=*-*-* 01:30:00
Persistent=true

[Install]
WantedBy=timers.target
UNIT
cat >"$SANDBOX/etc/systemd/system/trixtech-sync.service" <<UNIT
[Service]
Type=oneshot
User=$demo_jobs_user
Environment=OFFSITE=$demo_jobs_user@127.0.0.1:$SANDBOX/rsync/offsite/
ExecStart=/usr/local/bin/trixtech-sync
UNIT
ln -sf ../trixtech-sync.timer "$SANDBOX/etc/systemd/system/timers.target.wants/trixtech-sync.timer"
cat >"$SANDBOX/usr/local/bin/trixtech-sync" <<SCRIPT
#!/bin/bash
# The local copy onto the backup volume, then the off-site one over ssh.
SSH="ssh -p $demo_jobs_ssh_port -i /rsync/ssh/id_ed25519 -o UserKnownHostsFile=/rsync/ssh/known_hosts"
rsync -a /rsync/trixtech/ /rsync/mnt/backup/trixtech/
rsync -a --timeout=120 -e "\$SSH" /rsync/trixtech/ "\$OFFSITE"
SCRIPT
chmod 0755 "$SANDBOX/usr/local/bin/trixtech-sync"

cat >"$SANDBOX/etc/postgresql/15/main/postgresql.conf" <<CONF
port = $demo_jobs_pg_port
wal_level = replica
archive_mode = on
archive_command = 'test ! -f /backups/wal/%f && cp %p /backups/wal/%f'
CONF

# auditd's log where it keeps it (60-host.sh planted it under audit/).
cp -p "$SANDBOX"/audit/audit.log* "$SANDBOX/var/log/audit/"

unset demo_jobs_user demo_jobs_pg_port demo_jobs_s3_endpoint demo_jobs_ssh_port
unset -f demo_jobs_var

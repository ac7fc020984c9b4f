# Demo fragment for the selinux and resources plugins (sourced by scripts/demo with $SANDBOX set).
#
# SELinux: this host has none, so selinux.status and selinux.contexts report "skipped", as they
# would on any host without SELinux. The denials check does not need SELinux on the machine that
# runs it, only the log: we plant an audit log (with a rotated predecessor reaching into the
# window, an older one outside it, and a few lines that are not audit records) holding denials
# of pg_dump, rsync, a backup script and tar, plus unrelated ones that must not count.
#
# Resources: memory, CPU and I/O are the live host's. We start two fake backups: a "pg_dump"
# that does no I/O at all (a hung dump) and an "rsync" that someone stopped with SIGSTOP.

mkdir -p "$SANDBOX/audit" "$SANDBOX/bin" "$SANDBOX/backups/database" "$SANDBOX/backups/files"

demo_host_now=$(date +%s)
demo_host_serial=4000
# One event: prints "msg=audit(T:S):" for $1 seconds ago (the same stamp for all its records).
demo_host_stamp() { printf 'msg=audit(%d.%03d:%d):' $((demo_host_now - $1)) $((RANDOM % 1000)) "$demo_host_serial"; }
demo_host_avc() { # ago perms comm target scontext tcontext tclass permissive
  demo_host_serial=$((demo_host_serial + 1))
  demo_host_event=$(demo_host_stamp "$1")
  echo "type=AVC $demo_host_event avc:  denied  { $2 } for  pid=$((20000 + demo_host_serial)) comm=\"$3\" $4 dev=\"dm-2\" ino=$((700000 + demo_host_serial)) scontext=$5 tcontext=$6 tclass=$7 permissive=$8"
}
demo_host_syscall() { # comm exe
  echo "type=SYSCALL $demo_host_event arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c items=1 ppid=1 pid=$((20000 + demo_host_serial)) auid=4294967295 uid=26 gid=26 comm=\"$1\" exe=\"$2\" subj=system_u:system_r:postgresql_t:s0 key=(null)"
}
demo_host_path() { echo "type=PATH $demo_host_event item=0 name=\"$1\" inode=1 dev=fd:02 mode=040755 nametype=PARENT"; }

demo_host_pg=system_u:system_r:postgresql_t:s0
demo_host_rs=system_u:system_r:rsync_t:s0
demo_host_cron=system_u:system_r:system_cronjob_t:s0
demo_host_db="$SANDBOX/backups/database"

# Two days ago: entirely before the 24 h window (the rotated file is skipped as a whole).
{
  demo_host_avc 180000 write pg_dump 'name="database"' "$demo_host_pg" unconfined_u:object_r:default_t:s0 dir 0
} >"$SANDBOX/audit/audit.log.2"
touch -d "@$((demo_host_now - 170000))" "$SANDBOX/audit/audit.log.2"

# Rotated 6 hours ago: one denial before the window, the first failing nightly dumps inside it.
{
  demo_host_avc 100000 write pg_dump 'name="database"' "$demo_host_pg" unconfined_u:object_r:default_t:s0 dir 0
  for demo_host_ago in 72000 64800 57600; do
    demo_host_avc $demo_host_ago "add_name write" pg_dump 'name="trixtech.sql.gz"' "$demo_host_pg" unconfined_u:object_r:default_t:s0 dir 0
    demo_host_syscall pg_dump /usr/bin/pg_dump
    demo_host_path "$demo_host_db"
  done
  echo "Nov 29 02:00:01 backup01 kernel: [ 1234.5678] this line does not belong in an audit log"
} >"$SANDBOX/audit/audit.log.1"
touch -d "@$((demo_host_now - 21600))" "$SANDBOX/audit/audit.log.1"

# The live log: more of the same, rsync reading application files with a home-directory label,
# the backup script creating a directory, tar in a permissive domain, and noise.
{
  for demo_host_ago in 14400 7200 3600; do
    demo_host_avc $demo_host_ago "add_name write" pg_dump 'name="trixtech.sql.gz"' "$demo_host_pg" unconfined_u:object_r:default_t:s0 dir 0
    demo_host_syscall pg_dump /usr/bin/pg_dump
    demo_host_path "$demo_host_db"
  done
  demo_host_avc 5400 "read open" rsync "path=\"$SANDBOX/app/uploads/invoice-2024-11.pdf\"" "$demo_host_rs" unconfined_u:object_r:user_home_t:s0 file 0
  demo_host_avc 5300 getattr rsync "path=\"$SANDBOX/app/uploads\"" "$demo_host_rs" unconfined_u:object_r:user_home_t:s0 dir 0
  demo_host_avc 3000 create files_backup.sh 'name="staging"' "$demo_host_cron" unconfined_u:object_r:default_t:s0 dir 0
  demo_host_path "$SANDBOX/backups/files"
  demo_host_avc 2400 write tar 'path="/var/tmp/files-staging.tar"' "$demo_host_cron" system_u:object_r:tmp_t:s0 file 1
  demo_host_avc 1800 getattr nginx 'path="/srv/www/index.html"' system_u:system_r:httpd_t:s0 unconfined_u:object_r:default_t:s0 file 0
  echo "type=USER_AVC $(demo_host_stamp 900) pid=1 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:init_t:s0 msg='avc:  denied  { status } for auid=0 uid=0 gid=0 path=\"/etc/systemd/system/nginx.service\" scontext=system_u:system_r:unconfined_t:s0 tcontext=system_u:object_r:httpd_unit_file_t:s0 tclass=service permissive=0  exe=\"/usr/lib/systemd/systemd\" sauid=0 hostname=? addr=? terminal=?'"
  echo "type=AVC msg=audit($demo_host_now.000:9999): avc:  denied  { wri"
  echo
} >"$SANDBOX/audit/audit.log"

# Fake backups: copies of sleep, so the process names are real ones.
cp /bin/sleep "$SANDBOX/bin/pg_dump"
cp /bin/sleep "$SANDBOX/bin/rsync"
"$SANDBOX/bin/pg_dump" 3600 </dev/null >/dev/null 2>&1 &
demo_on_exit "kill -9 $! 2>/dev/null || true"
"$SANDBOX/bin/rsync" 3600 </dev/null >/dev/null 2>&1 &
demo_host_rsync=$!
demo_on_exit "kill -9 $demo_host_rsync 2>/dev/null || true"
# Stop it only once it is rsync: a stop between fork and exec would freeze a shell instead.
for _ in $(seq 100); do
  [ "$(readlink "/proc/$demo_host_rsync/exe" 2>/dev/null)" = "$SANDBOX/bin/rsync" ] && break
  sleep 0.02
done
kill -STOP "$demo_host_rsync"

DEMO_VARS+=(
  --var "backup_dir=$SANDBOX/backups"
  --var "audit_log=$SANDBOX/audit/audit.log"
)
unset demo_host_now demo_host_serial demo_host_event demo_host_rsync demo_host_pg demo_host_rs demo_host_cron demo_host_db demo_host_ago
unset -f demo_host_stamp demo_host_avc demo_host_syscall demo_host_path

#!/usr/bin/env bash
# Benchmark: every pg check in one backup-doctor run, against the guide's equivalent sequence of
# `psql -c` (and pg_dump/pg_restore/nc/ls) invocations, on the same local server in the same run.
#
#   bench/pg/run.sh [iterations]        (default 5; BUILD_DIR defaults to build-pg)
#
# Starts a throw-away PostgreSQL (data in a temp dir, 127.0.0.1 and a socket there, as the
# postgres account when run as root) with a database, a backup role, a custom-format dump and a
# WAL archive, then times both sides alternately and prints the medians and their ratio.
# A second figure compares deep verification (pg.dump_verify with `restore`) with the guide's
# createdb / pg_restore / psql count / dropdb sequence.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-pg}
iterations=${1:-5}
bd="$build/bin/backup-doctor"
[ -x "$bd" ] || { echo "bench: $bd not built (ninja -C $build backup-doctor backup-doctor-pg)" >&2; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

work=$(mktemp -d /tmp/bd-bench-pg.XXXXXX)
chmod 0755 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate -w -s stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/pg" "$work/wal" "$work/dumps"
if [ "$(id -u)" = 0 ]; then chown postgres: "$work/pg" "$work/wal"; fi
as_pg "$pgbin/initdb" -D "$work/pg/data" --no-sync -A trust -U postgres --locale=C -E UTF8 >/dev/null
printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$work/pg/data/pg_hba.conf"
port=$((20000 + RANDOM % 30000))
cat >>"$work/pg/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work/pg'
fsync = off
archive_mode = on
archive_command = 'cp %p $work/wal/%f'
EOF
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -s start
export PGPASSWORD=bench-pw-31
sql() { psql -X -q -h "$work/pg" -p "$port" -U postgres "$@" >/dev/null; }
sql -d postgres -c "CREATE ROLE backup_user LOGIN PASSWORD '$PGPASSWORD' CREATEDB" -c "CREATE DATABASE trixtech"
sql -d trixtech <<'EOF'
CREATE SCHEMA booking;
CREATE TABLE users (id serial PRIMARY KEY, email text);
CREATE TABLE bookings (id bigserial PRIMARY KEY, user_id int, room text);
CREATE TABLE booking.rooms (id serial PRIMARY KEY, name text);
INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 20000) g;
INSERT INTO bookings (user_id, room) SELECT g % 20000, 'r' || g % 50 FROM generate_series(1, 50000) g;
INSERT INTO booking.rooms (name) SELECT 'r' || g FROM generate_series(1, 50) g;
GRANT USAGE ON SCHEMA public, booking TO backup_user;
GRANT SELECT ON ALL TABLES IN SCHEMA public, booking TO backup_user;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, booking TO backup_user;
CREATE EXTENSION pg_trgm;
SELECT pg_switch_wal();
EOF
"$pgbin/pg_dump" -h "$work/pg" -p "$port" -U postgres -Fc -f "$work/dumps/trixtech.dump" trixtech
sleep 0.5  # let the archiver copy the segment

conn="\"host\": \"127.0.0.1\", \"port\": \"$port\", \"dbname\": \"trixtech\", \"user\": \"backup_user\", \"password\": {\"secret\": {\"env\": \"PGPASSWORD\"}}"
checklist() { # $1 = with deep restore (0/1)
  local deep=""
  if [ "$1" = 1 ]; then
    deep=", \"restore\": {$conn, \"dbname\": \"postgres\", \"queries\": [{\"sql\": \"SELECT count(*) FROM users\", \"min\": 1}]}"
  fi
  cat <<EOF
{"version": 1, "name": "pg bench",
 "checks": [
  {"id": "connect", "use": "pg.connect", "with": {$conn}},
  {"id": "headroom", "use": "pg.connection_headroom", "with": {$conn}},
  {"id": "role", "use": "pg.role", "with": {$conn}},
  {"id": "privileges", "use": "pg.privileges", "with": {$conn}},
  {"id": "dump-compat", "use": "pg.dump_compat", "with": {$conn}},
  {"id": "extensions", "use": "pg.extensions", "with": {$conn}},
  {"id": "wal", "use": "pg.wal_archiving", "with": {$conn, "archive_dir": "$work/wal"}},
  {"id": "dump", "use": "pg.dump_verify", "with": {"path": "$work/dumps/trixtech.dump", "expect_tables": ["users", "bookings"]$deep}}
 ]}
EOF
}
checklist 0 >"$work/bench-checklist.json"
checklist 1 >"$work/bench-checklist-deep.json"

# The guide's commands, one process each, as an operator (or a script) would run them.
P=(psql -X -q -h 127.0.0.1 -p "$port" -U backup_user -d trixtech)
guide() {
  "${P[@]}" -c "SELECT version();"
  psql -X -q -h 127.0.0.1 -p "$port" -U backup_user -d postgres -c "SELECT * FROM pg_stat_activity LIMIT 5;"
  "${P[@]}" -c "SELECT 1;"
  "${P[@]}" -c "SELECT valuntil FROM pg_user WHERE usename = 'backup_user';"
  bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"  # the guide's nc -zv (netcat is not installed here)
  "${P[@]}" -c "SHOW max_connections;"
  "${P[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'active';"
  "${P[@]}" -c "SELECT has_database_privilege(current_user, current_database(), 'CONNECT');"
  "${P[@]}" -c "SELECT nspname, has_schema_privilege(nspname, 'USAGE') FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema';"
  "${P[@]}" -c "SELECT c.oid::regclass, has_table_privilege(c.oid, 'SELECT') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','S') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema';"
  pg_dump --version
  pg_restore --version
  "${P[@]}" -c "SELECT * FROM pg_extension;"
  "${P[@]}" -c "SHOW archive_mode;"
  "${P[@]}" -c "SHOW archive_command;"
  "${P[@]}" -c "SELECT * FROM pg_stat_archiver;"
  ls -la "$work/wal/"
  pg_restore --list "$work/dumps/trixtech.dump"
  pg_restore -f /dev/null "$work/dumps/trixtech.dump"
}
guide_deep() {
  guide
  createdb -h 127.0.0.1 -p "$port" -U backup_user test_restore
  pg_restore -h 127.0.0.1 -p "$port" -U backup_user -d test_restore --no-owner --no-privileges "$work/dumps/trixtech.dump"
  psql -X -q -h 127.0.0.1 -p "$port" -U backup_user -d test_restore -c "SELECT COUNT(*) FROM users;"
  dropdb -h 127.0.0.1 -p "$port" -U backup_user test_restore
}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
time_cmd() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1 || true; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {print a / b}'; }

# One untimed round of each to warm caches.
"$bd" run "$work/bench-checklist.json" --format json >"$work/report.json" 2>/dev/null || true
guide >/dev/null 2>&1
bd_times=() guide_times=() bd_deep_times=() guide_deep_times=()
for _ in $(seq 1 "$iterations"); do
  bd_times+=("$(time_cmd "$bd" run "$work/bench-checklist.json" --format json --report "json=$work/report.json")")
  guide_times+=("$(time_cmd guide)")
  bd_deep_times+=("$(time_cmd "$bd" run "$work/bench-checklist-deep.json" --format json)")
  guide_deep_times+=("$(time_cmd guide_deep)")
done
m_bd=$(printf '%s\n' "${bd_times[@]}" | median)
m_guide=$(printf '%s\n' "${guide_times[@]}" | median)
m_bd_deep=$(printf '%s\n' "${bd_deep_times[@]}" | median)
m_guide_deep=$(printf '%s\n' "${guide_deep_times[@]}" | median)

echo "statuses of the last backup-doctor run:"
python3 -c 'import json,sys; [print("  %-12s %-4s %6.3fs  %s" % (r["id"], r["status"], r.get("duration_seconds", 0), r["summary"][:80])) for r in json.load(open(sys.argv[1]))["results"]]' "$work/report.json" 2>/dev/null || echo "  (report not readable)"
printf 'checks: 8 pg checks, %d iterations, medians (cores: %s, load: %s)\n' "$iterations" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
printf '  backup-doctor run          %7.3f s\n' "$m_bd"
printf '  guide psql sequence (20)   %7.3f s\n' "$m_guide"
printf '  ratio                      %7.2fx  (goal <= 0.30x)\n' "$(ratio "$m_bd" "$m_guide")"
printf '  with deep restore          %7.3f s\n' "$m_bd_deep"
printf '  guide + test restore (24)  %7.3f s\n' "$m_guide_deep"
printf '  ratio                      %7.2fx\n' "$(ratio "$m_bd_deep" "$m_guide_deep")"

# Demo fragment for the pg plugin (sourced by scripts/demo with $SANDBOX set).
# Starts a sandbox PostgreSQL (data under $SANDBOX/pg, listening on 127.0.0.1 and a socket in
# that directory, run as the postgres account) with three planted problems:
#   - a table added after the grants were made: the backup role cannot SELECT it;
#   - the backup role's password expires in 3 days;
#   - WAL archiving worked, then the archive directory changed owner: the archiver now fails.
# Everything else is healthy. pg_ctl stop is registered with demo_on_exit.

demo_pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$demo_pg_bin" ] || [ ! -x "$demo_pg_bin/initdb" ]; then
  echo "demo: PostgreSQL server binaries not found under /usr/lib/postgresql (scripts/setup installs them)" >&2
  return 1
fi
demo_pg_dir="$SANDBOX/pg"
demo_pg_wal="$SANDBOX/backups/wal"
demo_pg_password="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"

# initdb refuses root: run the server as the postgres account then (as the current user otherwise).
demo_pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
demo_pg_sql() { # $1 = database, rest: psql arguments
  local db=$1
  shift
  psql -X -q -v ON_ERROR_STOP=1 -h "$demo_pg_dir" -p "$demo_pg_port" -U postgres -d "$db" "$@" >/dev/null
}

mkdir -p "$demo_pg_dir" "$demo_pg_wal"
if [ "$(id -u)" = 0 ]; then chown postgres: "$demo_pg_dir" "$demo_pg_wal"; fi
chmod 0700 "$demo_pg_dir"
demo_pg_as "$demo_pg_bin/initdb" -D "$demo_pg_dir/data" --no-sync -A trust -U postgres -E UTF8 \
  --locale=C >/dev/null
cat >"$demo_pg_dir/data/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOF
cat >>"$demo_pg_dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$demo_pg_dir'
max_connections = 30
fsync = off
archive_mode = on
archive_command = 'test ! -f $demo_pg_wal/%f && cp %p $demo_pg_wal/%f'
EOF

# A free port: try a few at random, PostgreSQL says when one is taken.
for demo_pg_try in 1 2 3 4 5 6 7 8; do
  demo_pg_port=$((20000 + RANDOM % 30000))
  echo "port = $demo_pg_port" >>"$demo_pg_dir/data/postgresql.conf"
  if demo_pg_as "$demo_pg_bin/pg_ctl" -D "$demo_pg_dir/data" -l "$demo_pg_dir/server.log" -w -t 60 \
    -s start >/dev/null 2>&1; then
    break
  fi
  if [ "$demo_pg_try" = 8 ] || ! grep -q "could not bind" "$demo_pg_dir/server.log"; then
    echo "demo: the sandbox PostgreSQL did not start:" >&2
    tail -n 20 "$demo_pg_dir/server.log" >&2
    return 1
  fi
done
demo_pg_stop="'$demo_pg_bin/pg_ctl' -D '$demo_pg_dir/data' -m fast -w -s stop"
if [ "$(id -u)" = 0 ]; then demo_pg_stop="runuser -u postgres -- $demo_pg_stop"; fi
demo_on_exit "$demo_pg_stop"

demo_pg_sql postgres <<EOF
DO \$\$ BEGIN
  EXECUTE format('CREATE ROLE backup_user LOGIN PASSWORD %L VALID UNTIL %L',
                 '$demo_pg_password', now() + interval '3 days');
END \$\$;
CREATE DATABASE trixtech;
EOF
demo_pg_sql trixtech <<EOF
CREATE SCHEMA booking;
CREATE TABLE public.users (id serial PRIMARY KEY, email text NOT NULL, created_at timestamptz DEFAULT now());
CREATE TABLE public.bookings (id bigserial PRIMARY KEY, user_id int REFERENCES users, room text);
CREATE TABLE booking.rooms (id serial PRIMARY KEY, name text);
INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 500) g;
INSERT INTO bookings (user_id, room) SELECT (g % 500) + 1, 'room ' || (g % 20) FROM generate_series(1, 2000) g;
INSERT INTO booking.rooms (name) SELECT 'room ' || g FROM generate_series(1, 20) g;
REVOKE CONNECT ON DATABASE trixtech FROM PUBLIC;
GRANT CONNECT ON DATABASE trixtech TO backup_user;
GRANT USAGE ON SCHEMA public, booking TO backup_user;
GRANT SELECT ON ALL TABLES IN SCHEMA public, booking TO backup_user;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, booking TO backup_user;
-- Planted: added by a later migration, never granted to the backup role.
CREATE TABLE public.invoices (id serial PRIMARY KEY, booking_id bigint REFERENCES bookings, amount numeric);
INSERT INTO invoices (booking_id, amount) SELECT g, 100 + g FROM generate_series(1, 300) g;
EOF

# Archiving works for two segments...
for demo_pg_try in 1 2; do
  demo_pg_sql trixtech -c "INSERT INTO booking.rooms (name) VALUES ('wal $demo_pg_try')" \
    -c "SELECT pg_switch_wal()"
done
for demo_pg_try in $(seq 1 100); do
  [ "$(psql -X -At -h "$demo_pg_dir" -p "$demo_pg_port" -U postgres -d postgres \
    -c 'SELECT archived_count FROM pg_stat_archiver')" -ge 2 ] && break
  sleep 0.1
done
# ...then the archive directory is handed to root (a careless chown -R): cp fails from now on.
if [ "$(id -u)" = 0 ]; then chown root: "$demo_pg_wal"; chmod 0755 "$demo_pg_wal"; else chmod 0555 "$demo_pg_wal"; fi
demo_pg_sql trixtech -c "INSERT INTO booking.rooms (name) VALUES ('after the chown')" -c "SELECT pg_switch_wal()"
for demo_pg_try in $(seq 1 100); do
  [ "$(psql -X -At -h "$demo_pg_dir" -p "$demo_pg_port" -U postgres -d postgres \
    -c 'SELECT failed_count FROM pg_stat_archiver')" -ge 1 ] && break
  sleep 0.1
done

export DB_PASSWORD="$demo_pg_password"
DEMO_VARS+=(
  --var "db_host=127.0.0.1"
  --var "db_port=$demo_pg_port"
  --var "db_name=trixtech"
  --var "db_user=backup_user"
  --var "wal_archive_dir=$demo_pg_wal"
)
unset demo_pg_dir demo_pg_wal demo_pg_password demo_pg_try demo_pg_bin demo_pg_stop demo_pg_port
unset -f demo_pg_sql demo_pg_as

# Demo fragment for the archive plugin (sourced by scripts/demo with $SANDBOX set).
# Plants, under $SANDBOX:
#   backups/files/trixtech_files_<29h ago>.tar.gz  the newest files archive, cut short by an
#                                                  interrupted job (its checksum was taken after
#                                                  the cut, so it "matches");
#   backups/files/latest.tar.gz(.sha256)           the guide's latest archive, intact, with a
#                                                  checksum file from an earlier run: mismatch;
#   backups/files/backup.tmp                       a leftover of a non-atomic write;
#   backups/database/base_backup.sql.gz(.sha256)   a healthy database dump with its checksum;
#   opt/trixtech/                                  the application tree latest.tar.gz was made
#                                                  from, with a file the backup missed.
# Ages are chosen to leave the other fragments' planted problems as they are (the newest files
# archive stays older than 25 h; the newest database dump is still the files fragment's).

mkdir -p "$SANDBOX"/backups/{database,files} "$SANDBOX/opt/trixtech"/{public,config,uploads}
demo_archive_files="$SANDBOX/backups/files"

# The application tree: pages, config, a few binary uploads; all two days old.
for i in $(seq 1 120); do
  printf '<html><body>booking page %s</body></html>\n' "$i" >"$SANDBOX/opt/trixtech/public/page$i.html"
done
printf 'db_host=localhost\ndb_name=trixtech\n' >"$SANDBOX/opt/trixtech/config/app.env"
for i in 1 2 3; do head -c $((200000 * i)) /dev/urandom >"$SANDBOX/opt/trixtech/uploads/photo$i.jpg"; done
find "$SANDBOX/opt/trixtech" -type f -exec touch -d '-2 days' {} +

# latest.tar.gz made last night, with the checksum of the run before (a checksum step that ran
# before the final rename); the archive itself is intact.
tar -czf "$demo_archive_files/latest.tar.gz" -C "$SANDBOX" opt/trixtech
printf 'stale content from the previous run\n' | gzip -c >"$SANDBOX/previous.tar.gz"
(cd "$SANDBOX" && sha256sum previous.tar.gz | sed 's/previous.tar.gz/latest.tar.gz/') \
  >"$demo_archive_files/latest.tar.gz.sha256"
rm -f "$SANDBOX/previous.tar.gz"
touch -d '-31 hours' "$demo_archive_files/latest.tar.gz.sha256"
touch -d '-31 hours' "$demo_archive_files/latest.tar.gz"

# A file that existed before that backup but is not in it (the job's user could not read it).
printf 'secret=1\n' >"$SANDBOX/opt/trixtech/config/payment.key"
touch -d '-3 days' "$SANDBOX/opt/trixtech/config/payment.key"

# The newest files archive: the job was killed mid-write; it checksummed what was there.
demo_archive_newest="$demo_archive_files/trixtech_files_$(date -u -d '-29 hours' +%Y%m%d%H).tar.gz"
tar -czf "$SANDBOX/full.tar.gz" -C "$SANDBOX" opt/trixtech
head -c $(($(stat -c %s "$SANDBOX/full.tar.gz") * 6 / 10)) "$SANDBOX/full.tar.gz" >"$demo_archive_newest"
rm -f "$SANDBOX/full.tar.gz"
(cd "$demo_archive_files" && sha256sum "$(basename "$demo_archive_newest")" >"$demo_archive_newest.sha256")
touch -d '-29 hours' "$demo_archive_newest" "$demo_archive_newest.sha256"

# What `tar -czf backup.tmp ... && mv backup.tmp latest.tar.gz` leaves when tar fails.
head -c 65536 /dev/urandom >"$demo_archive_files/backup.tmp"
touch -d '-2 days' "$demo_archive_files/backup.tmp"

# A healthy database dump with its checksum (the guide's PITR base backup), a week old so that
# the newest dump stays the one the files fragment planted.
{
  echo "-- PostgreSQL database dump (trixtech base backup)"
  echo "CREATE TABLE users (id integer, email text);"
  seq 1 20000 | sed 's/.*/INSERT INTO users VALUES (&, '\''user&@example.com'\'');/'
} | gzip -6 >"$SANDBOX/backups/database/base_backup.sql.gz"
(cd "$SANDBOX/backups/database" && sha256sum -b base_backup.sql.gz >base_backup.sql.gz.sha256)
touch -d '-7 days' "$SANDBOX/backups/database/base_backup.sql.gz" "$SANDBOX/backups/database/base_backup.sql.gz.sha256"

# Same ownership and modes as the rest of the planted backups (see 10-files.sh), so that only
# the problems above show up.
chmod 0600 "$SANDBOX"/backups/database/base_backup.sql.gz*
chmod 0640 "$demo_archive_files"/latest.tar.gz* "$demo_archive_newest"* "$demo_archive_files/backup.tmp"
if id backup-doctor-test >/dev/null 2>&1; then
  chown -R backup-doctor-test:backup-doctor-test "$SANDBOX/backups"
fi

DEMO_VARS+=(
  --var "backup_dir=$SANDBOX/backups"
  --var "app_dir=$SANDBOX/opt/trixtech"
  --var "restore_target=$SANDBOX/restore"
)
unset demo_archive_files demo_archive_newest i

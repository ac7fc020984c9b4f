#!/bin/bash
# Nightly database dump, then an off-site copy in S3.
set -euo pipefail
. /etc/backup/backup.conf

BACKUP_DIR="${BACKUP_ROOT}/database"
FILE="$BACKUP_DIR/${DB_NAME}_$(date +%Y%m%d).sql.gz"

echo "$(date '+%F %T') Starting backup of $DB_NAME"
PGPASSWORD="$DB_PASSWORD" pg_dump -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" "$DB_NAME" \
  | gzip > "$FILE"
sha256sum "$FILE" > "$FILE.sha256"

if [ -n "${S3_BUCKET:-}" ]; then
  aws s3 cp "$FILE" "s3://$S3_BUCKET/database/" --storage-class STANDARD_IA
fi

find "$BACKUP_DIR" -name '*.sql.gz' -mtime +14 -delete
echo "$(date '+%F %T') Backup completed successfully"

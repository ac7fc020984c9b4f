#!/bin/sh
# Application files: archive to a temporary name, rename when complete, checksum.
exec >> /var/log/backup/files_backup.log 2>&1
DEST=/opt/backups/files
cd "$DEST" || exit 1
tar -czf backup.tmp /opt/trixtech/ && mv backup.tmp latest.tar.gz
sha256sum latest.tar.gz > latest.tar.gz.sha256
echo "Backup completed successfully at $(date)"

# Demo fragment for the rsync plugin (sourced by scripts/demo with $SANDBOX set).
# Plants, under $SANDBOX: an application tree to back up with one file the backup user cannot
# read (a secrets file left root-only), and a local destination that does not exist (its backup
# volume is "not mounted"). An off-site copy goes to a real sshd on loopback, run as the
# unprivileged backup user with its own keys and data in the sandbox; that route is healthy, so
# only the planted problems show.

demo_rsync_user=backup-doctor-test # created by scripts/setup
demo_rsync_dir="$SANDBOX/rsync"
chmod 0755 "$SANDBOX"
mkdir -p "$demo_rsync_dir"/trixtech/{public,config,uploads} "$demo_rsync_dir/mnt" \
  "$demo_rsync_dir/offsite" "$demo_rsync_dir/ssh"
chmod 0755 "$demo_rsync_dir"

# The application tree: readable by everyone, except one secrets file only root can read.
for i in $(seq 1 50); do echo "booking page $i" >"$demo_rsync_dir/trixtech/public/page$i.html"; done
for i in $(seq 1 5); do head -c 20000 /dev/urandom >"$demo_rsync_dir/trixtech/uploads/receipt$i.pdf"; done
echo "APP_ENV=production" >"$demo_rsync_dir/trixtech/config/app.env"
echo "STRIPE_KEY=sk_demo_not_a_real_key" >"$demo_rsync_dir/trixtech/config/secrets.env"
chmod -R a+rX "$demo_rsync_dir/trixtech"
chmod 0600 "$demo_rsync_dir/trixtech/config/secrets.env" # planted: unreadable for the backup user

# The local destination's volume is not mounted: $SANDBOX/rsync/mnt/backup does not exist.

# Off-site: sshd on a free loopback port, as the backup user (no root sshd, no /run/sshd).
demo_rsync_port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then demo_rsync_port=$p; break; fi
done
ssh-keygen -q -t ed25519 -N '' -C demo-host -f "$demo_rsync_dir/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -C demo-backup -f "$demo_rsync_dir/ssh/id_ed25519"
cp "$demo_rsync_dir/ssh/id_ed25519.pub" "$demo_rsync_dir/ssh/authorized_keys"
echo "[127.0.0.1]:$demo_rsync_port $(cat "$demo_rsync_dir/ssh/host_key.pub")" >"$demo_rsync_dir/ssh/known_hosts"
cat >"$demo_rsync_dir/ssh/sshd_config" <<CONF
Port $demo_rsync_port
ListenAddress 127.0.0.1
HostKey $demo_rsync_dir/ssh/host_key
PidFile $demo_rsync_dir/ssh/sshd.pid
AuthorizedKeysFile $demo_rsync_dir/ssh/authorized_keys
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
CONF
chown -R "$demo_rsync_user:" "$demo_rsync_dir/ssh" "$demo_rsync_dir/offsite"
setpriv --reuid="$demo_rsync_user" --regid="$demo_rsync_user" --init-groups \
  /usr/sbin/sshd -D -e -f "$demo_rsync_dir/ssh/sshd_config" 2>"$demo_rsync_dir/ssh/sshd.log" &
demo_on_exit "kill $! 2>/dev/null"
for _ in $(seq 1 100); do
  ssh-keyscan -T 1 -p "$demo_rsync_port" 127.0.0.1 2>/dev/null | grep -q . && break
  sleep 0.1
done

DEMO_VARS+=(
  --var "rsync_source=$demo_rsync_dir/trixtech/"
  --var "rsync_destination=$demo_rsync_dir/mnt/backup/trixtech/"
  --var "rsync_user=$demo_rsync_user"
  --var "rsync_remote_destination=$demo_rsync_user@127.0.0.1:$demo_rsync_dir/offsite/"
  --var "rsync_ssh_port=$demo_rsync_port"
  --var "rsync_ssh_key=$demo_rsync_dir/ssh/id_ed25519"
  --var "rsync_known_hosts=$demo_rsync_dir/ssh/known_hosts"
)
unset demo_rsync_user demo_rsync_dir demo_rsync_port p i

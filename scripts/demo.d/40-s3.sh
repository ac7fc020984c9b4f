# Demo fragment for the s3 plugin (sourced by scripts/demo with $SANDBOX set).
# Starts moto_server (an S3 protocol server) on a free loopback port with its data in memory and
# its log under $SANDBOX/s3, and plants, in bucket trixtech-backups:
#   - a stale newest backup: the last database dump that reached the bucket is 3 days old
#     (uploaded while moto ran 3 days in the past through libfaketime);
#   - the upload of tonight's dump abandoned half-way: an incomplete multipart upload;
#   - an ETag mismatch: the local "latest" dump has the size of the newest object but other bytes.
# The secondary bucket holds the same newest backup, so s3.redundancy passes; usage is far below
# the quota. Credentials are dummies exported for this run only (moto accepts any).

demo_s3_dir="$SANDBOX/s3"
mkdir -p "$demo_s3_dir/aws" "$demo_s3_dir/upload"

demo_s3_port=""
for demo_s3_try in $(shuf -i 20000-60000 -n 50); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$demo_s3_try") 2>/dev/null; then
    demo_s3_port=$demo_s3_try
    break
  fi
done
[[ -n $demo_s3_port ]] || { echo "demo s3: no free port" >&2; return 1; }
demo_s3_endpoint="http://127.0.0.1:$demo_s3_port"

# libfaketime lets moto run in the past while the old backups are uploaded; its offset is read
# from a file on every clock call, so it can be moved back to the present afterwards.
demo_s3_faketime=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n1 || true)
echo "+0" >"$demo_s3_dir/clock-offset"
if [[ -n $demo_s3_faketime ]]; then
  LD_PRELOAD="$demo_s3_faketime" FAKETIME_TIMESTAMP_FILE="$demo_s3_dir/clock-offset" \
    FAKETIME_NO_CACHE=1 moto_server -H 127.0.0.1 -p "$demo_s3_port" >"$demo_s3_dir/moto.log" 2>&1 &
else
  echo "demo s3: libfaketime not found (Debian package faketime); the stale backup will only be seconds old" >&2
  moto_server -H 127.0.0.1 -p "$demo_s3_port" >"$demo_s3_dir/moto.log" 2>&1 &
fi
demo_s3_pid=$!
demo_on_exit "kill $demo_s3_pid 2>/dev/null || true"
for _ in $(seq 1 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$demo_s3_port") 2>/dev/null && break
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=AKIADEMOTRIXTECH0001
export AWS_SECRET_ACCESS_KEY=demo-secret-never-shown-in-reports
printf '[default]\nregion = us-east-1\ns3 =\n    multipart_chunksize = 16MB\n' >"$demo_s3_dir/aws/config"
: >"$demo_s3_dir/aws/credentials"
demo_s3_aws() {
  AWS_CONFIG_FILE="$demo_s3_dir/aws/config" AWS_SHARED_CREDENTIALS_FILE="$demo_s3_dir/aws/credentials" \
    AWS_DEFAULT_REGION=us-east-1 HOME="$demo_s3_dir" \
    aws --endpoint-url "$demo_s3_endpoint" "$@" >/dev/null
}
demo_s3_dump() { # $1 = file, $2 = seed: 256 KiB of deterministic "dump" bytes
  openssl enc -aes-128-ctr -nosalt -pass "pass:trixtech-$2" -in /dev/zero 2>/dev/null | head -c 262144 >"$1" || true
}

demo_s3_aws s3api create-bucket --bucket trixtech-backups
demo_s3_aws s3api create-bucket --bucket trixtech-backups-secondary

# Five and four days ago: two older dumps. Three days ago: the last one that made it.
for demo_s3_age in 5 4 3; do
  echo "-${demo_s3_age}d" >"$demo_s3_dir/clock-offset"
  demo_s3_name="trixtech_$(date -u -d "-$demo_s3_age days" +%Y%m%d).sql.gz"
  demo_s3_dump "$demo_s3_dir/upload/$demo_s3_name" "$demo_s3_age"
  for demo_s3_bucket in trixtech-backups trixtech-backups-secondary; do
    demo_s3_aws s3 cp "$demo_s3_dir/upload/$demo_s3_name" "s3://$demo_s3_bucket/database/$demo_s3_name"
  done
done
echo "+0" >"$demo_s3_dir/clock-offset"

# Tonight's upload died after its first part: the multipart upload was never completed.
demo_s3_tonight="database/trixtech_$(date -u +%Y%m%d).sql.gz"
head -c $((5 * 1024 * 1024)) /dev/urandom >"$demo_s3_dir/upload/part1"
demo_s3_upload_id=$(AWS_CONFIG_FILE="$demo_s3_dir/aws/config" AWS_SHARED_CREDENTIALS_FILE="$demo_s3_dir/aws/credentials" \
  AWS_DEFAULT_REGION=us-east-1 HOME="$demo_s3_dir" aws --endpoint-url "$demo_s3_endpoint" \
  s3api create-multipart-upload --bucket trixtech-backups --key "$demo_s3_tonight" \
  --query UploadId --output text)
demo_s3_aws s3api upload-part --bucket trixtech-backups --key "$demo_s3_tonight" --part-number 1 \
  --upload-id "$demo_s3_upload_id" --body "$demo_s3_dir/upload/part1"

# The local "latest" dump has the newest object's size but other content.
demo_s3_dump "$demo_s3_dir/latest.sql.gz" local-rerun

if [[ -z $demo_s3_faketime ]]; then
  sleep 2
  DEMO_VARS+=(--var "s3_max_age=1s")
fi
DEMO_VARS+=(
  --var "s3_endpoint=$demo_s3_endpoint"
  --var "s3_sts_endpoint=$demo_s3_endpoint"
  --var "s3_local_db_backup=$demo_s3_dir/latest.sql.gz"
)
unset demo_s3_dir demo_s3_port demo_s3_try demo_s3_endpoint demo_s3_faketime demo_s3_pid \
  demo_s3_age demo_s3_name demo_s3_bucket demo_s3_tonight demo_s3_upload_id
unset -f demo_s3_aws demo_s3_dump

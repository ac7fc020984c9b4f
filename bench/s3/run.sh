#!/usr/bin/env bash
# Benchmark of the s3 plugin: the diagnostics of the guide's storage sections done with the
# aws CLI commands the guide uses, vs one `backup-doctor run` of the equivalent checks, in the
# same run against the same moto_server on loopback.
#
#   bench/s3/run.sh [BUILD_DIR] [ROUNDS]      (default build-s3, 3 rounds; prints medians)
#
# Both sides do the same work: reachability, caller identity, bucket listing, multipart
# uploads, the newest backup's ETag vs the local file, recursive usage summary, the secondary
# copy and freshness. The reference side is a sequence of aws CLI processes (as an operator
# runs them from the guide); backup-doctor runs its checks in one process tree.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-s3}
rounds=${2:-3}
bd="$build/bin/backup-doctor"
[[ -x $bd ]] || { echo "bench s3: $bd not built (ninja -C $build backup-doctor backup-doctor-s3)" >&2; exit 1; }
command -v moto_server >/dev/null && command -v aws >/dev/null || { echo "bench s3: moto_server and aws needed" >&2; exit 1; }

work=$(mktemp -d /tmp/bd-bench-s3-XXXXXX)
moto_pid=""
cleanup() { [[ -n $moto_pid ]] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
endpoint="http://127.0.0.1:$port"
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 200); do curl -s -o /dev/null "$endpoint/" && break; sleep 0.1; done

export AWS_ACCESS_KEY_ID=AKIABENCHMARK0000001 AWS_SECRET_ACCESS_KEY=bench-secret-key
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE="$work/config" AWS_SHARED_CREDENTIALS_FILE="$work/credentials"
export HOME="$work"
printf '[default]\nregion = us-east-1\ns3 =\n    multipart_chunksize = 8MB\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
awsq() { aws --endpoint-url "$endpoint" "$@"; }

# The data: 500 older backups, the newest one multipart (3 parts of 8 MiB), its copy in the
# secondary bucket, one abandoned multipart upload.
bucket=trixtech-backups secondary=trixtech-backups-secondary
awsq s3api create-bucket --bucket "$bucket" >/dev/null
awsq s3api create-bucket --bucket "$secondary" >/dev/null
mkdir -p "$work/old/database"
for i in $(seq -w 1 500); do head -c 2048 /dev/urandom >"$work/old/database/trixtech_2024$i.sql.gz"; done
awsq s3 sync "$work/old" "s3://$bucket/" >/dev/null
head -c $((20 * 1024 * 1024)) /dev/urandom >"$work/latest.sql.gz"
awsq s3 cp "$work/latest.sql.gz" "s3://$bucket/database/trixtech_zz_latest.sql.gz" >/dev/null
awsq s3 cp "$work/latest.sql.gz" "s3://$secondary/database/trixtech_zz_latest.sql.gz" >/dev/null
awsq s3api create-multipart-upload --bucket "$bucket" --key database/trixtech_tonight.sql.gz >/dev/null

reference() {
  curl -sI "$endpoint/" >/dev/null                                   # connectivity
  awsq sts get-caller-identity >/dev/null                            # credentials
  awsq s3 ls "s3://$bucket/" >/dev/null                              # access
  awsq s3api list-multipart-uploads --bucket "$bucket" >/dev/null    # partial uploads
  awsq s3api head-object --bucket "$bucket" --key database/trixtech_zz_latest.sql.gz --query ETag >/dev/null
  md5sum "$work/latest.sql.gz" >/dev/null                            # local checksum
  awsq s3 ls "s3://$bucket/" --recursive --summarize >/dev/null      # usage
  awsq s3api head-object --bucket "$secondary" --key database/trixtech_zz_latest.sql.gz >/dev/null
  awsq s3 ls "s3://$bucket/database/" --recursive | sort | tail -n 1 >/dev/null  # newest
}

conn=$(printf '"endpoint":"%s","bucket":"%s","access_key_id":"${env:AWS_ACCESS_KEY_ID}","secret_access_key":{"secret":{"env":"AWS_SECRET_ACCESS_KEY"}}' "$endpoint" "$bucket")
cat >"$work/checklist.json" <<JSON
{"version": 1, "name": "bench-s3", "checks": [
 {"id": "reachable", "use": "s3.reachable", "with": {"endpoint": "$endpoint", "bucket": "$bucket"}},
 {"id": "auth", "use": "s3.auth", "with": {$conn, "sts_endpoint": "$endpoint"}},
 {"id": "permissions", "use": "s3.permissions", "with": {$conn, "prefix": "database/"}},
 {"id": "leftovers", "use": "s3.multipart_leftovers", "with": {$conn}},
 {"id": "matches", "use": "s3.object_matches", "with": {$conn, "prefix": "database/", "local_path": "$work/latest.sql.gz"}},
 {"id": "usage", "use": "s3.usage", "with": {$conn, "quota": "10GiB"}},
 {"id": "redundancy", "use": "s3.redundancy", "with": {$conn, "prefix": "database/", "secondary": {"bucket": "$secondary"}}},
 {"id": "freshness", "use": "s3.freshness", "with": {$conn, "prefix": "database/"}}
]}
JSON

doctor() { "$bd" run "$work/checklist.json" --format json >"$work/report.json" || true; }

now() { date +%s.%N; }
declare -a ref_t bd_t
for r in $(seq 1 "$rounds"); do
  t0=$(now); reference; t1=$(now); doctor; t2=$(now)
  ref_t+=("$(echo "$t1 - $t0" | bc)")
  bd_t+=("$(echo "$t2 - $t1" | bc)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ref=$(median "${ref_t[@]}")
doc=$(median "${bd_t[@]}")
statuses=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(x["id"]+"="+x["status"] for x in r["results"]))' "$work/report.json" 2>/dev/null || echo "?")
printf 'objects: 502 in %s (+1 abandoned upload), newest 20 MiB multipart\n' "$bucket"
printf 'aws CLI (9 commands, as in the guide): %.2f s   (rounds: %s)\n' "$ref" "${ref_t[*]}"
printf 'backup-doctor run (8 s3 checks):       %.2f s   (rounds: %s)\n' "$doc" "${bd_t[*]}"
printf 'ratio backup-doctor / aws CLI:         %.3fx\n' "$(echo "$doc / $ref" | bc -l)"
printf 'results: %s\n' "$statuses"

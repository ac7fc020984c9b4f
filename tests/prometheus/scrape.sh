#!/usr/bin/env bash
# The guide's rules (runbook.rules.yml) in a real Prometheus, on loopback, scraping a real
# textfile of this tree's reporter the way node_exporter serves it (a static file over HTTP):
#   - job "backup-doctor", honor_labels: true (docs/monitoring.md): BackupFailed goes pending with
#     job="db-backup" (the backup set) and the description "Backup job db-backup failed to
#     complete"; BackupTooOld is pending for db-backup (newest dump 30h old);
#   - job "no-honor", the default: Prometheus keeps its own job and renames ours exported_job,
#     so the same alert says "Backup job no-honor": the trap the scrape config avoids;
#   - job "relabelled", the default plus docs/monitoring.md's metric_relabel_configs: job is the
#     backup set again (this one scrapes a second file server, to be another instance).
# Everything it starts (prometheus, the file server) it stops on exit.
# Usage: scrape.sh SOURCE_DIR BACKUP_DOCTOR_BINARY
set -euo pipefail
src=$1 bin=$2
here=$src/tests/prometheus
source "$src/tests/e2e/common.sh"
source "$here/fixture.sh"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run_fixture "$bin"
mkdir -p "$tmp/www"
cp "$tmp/backup-doctor.prom" "$tmp/www/metrics"
web=$(free_port) web2=$(free_port)
for port in "$web" "$web2"; do
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/www" >>"$tmp/http.log" 2>&1 &
  pids+=($!)
done

prom=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $here/runbook.rules.yml
scrape_configs:
  - job_name: backup-doctor
    honor_labels: true
    static_configs: [{targets: ["127.0.0.1:$web"]}]
  - job_name: no-honor
    static_configs: [{targets: ["127.0.0.1:$web"]}]
  - job_name: relabelled
    static_configs: [{targets: ["127.0.0.1:$web2"]}]
    metric_relabel_configs:
      - source_labels: [exported_job]
        regex: (.+)
        target_label: job
      - regex: exported_job
        action: labeldrop
YAML
quiet promtool check config "$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$prom" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)

api="http://127.0.0.1:$prom/api/v1"
# pending alerts as "state|alertname|instance|job|exported_job|description", one a line
pending() {
  curl -sf "$api/alerts" | python3 -c '
import json, sys
for a in json.load(sys.stdin)["data"]["alerts"]:
    l = a["labels"]
    print(a["state"], l["alertname"], l["instance"].split(":")[1], l.get("job", "-"), l.get("exported_job", "-"), a["annotations"].get("description", ""), sep="|")
' | sort
}
want=(
  "pending|BackupFailed|$web|db-backup|-|Backup job db-backup failed to complete"
  "pending|BackupFailed|$web|no-honor|db-backup|Backup job no-honor failed to complete"
  "pending|BackupFailed|$web2|db-backup|-|Backup job db-backup failed to complete"
)
got=""
for _ in $(seq 60); do
  got=$(pending 2>/dev/null || true)
  ok=1
  for w in "${want[@]}"; do grep -qxF "$w" <<<"$got" || ok=0; done
  grep -q "^pending|BackupTooOld|$web|db-backup|-|Latest backup is 30\\." <<<"$got" || ok=0
  [ "$ok" = 1 ] && break
  sleep 1
done
[ "$ok" = 1 ] || fail "alerts from a real Prometheus:
${got:-(none)}
expected among them:
$(printf '%s\n' "${want[@]}")
pending|BackupTooOld|$web|db-backup|-|Latest backup is 30.x hours old
prometheus log: $(tail -20 "$tmp/prometheus.log")"
# The ok set raises nothing.
! grep -q '|files|' <<<"$got" || fail "an alert for the ok backup set files: $got"
echo "ok: a real Prometheus fires the guide's alerts for job db-backup with honor_labels: true or the relabelling"

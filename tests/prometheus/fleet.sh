#!/usr/bin/env bash
# The fleet test (issue 15): three `backup-doctor serve` instances, a real Prometheus scraping
# them (job backup-doctor, honor_labels: true) with deploy/prometheus/backup-doctor.rules.yml,
# and a real Alertmanager delivering to a webhook receiver, all on loopback:
#   - "healthy": a fresh, intact .tar.gz: raises nothing;
#   - "stale": the newest backup is 30h old: BackupNewestTooOld and BackupCheckFailed for its
#     freshness check;
#   - "damaged": the newest backup is fresh but truncated: BackupCheckFailed and
#     BackupArchiveNotVerified for its archive.verify check.
# The set of firing alerts must be exactly that (alert name, instance, check, checklist), and
# the webhook must receive each of them from Alertmanager. Everything it starts it stops.
# Usage: fleet.sh SOURCE_DIR BACKUP_DOCTOR_BINARY
set -euo pipefail
src=$1 bin=$2
# shellcheck source=SCRIPTDIR/../e2e/common.sh
source "$src/tests/e2e/common.sh"
pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds, or fail.
wait_for() {
  local n=$(($1 * 5)) what=$2
  shift 2
  for _ in $(seq "$n"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "timed out waiting for $what"
}

# --- three sandboxes ------------------------------------------------------------------------
# Each: backups/ with yesterday's and today's archive (64 KiB of random data, so a size ratio
# is computed and stays near 1), and a checklist of its own name and backup set.
make_sandbox() {
  local name=$1 newest_age=$2 dir=$tmp/$1
  mkdir -p "$dir/backups" "$dir/src"
  head -c 65536 /dev/urandom >"$dir/src/data.bin"
  tar -czf "$dir/backups/$name-1.tar.gz" -C "$dir" src
  touch -d "-$((newest_age + 24)) hours" "$dir/backups/$name-1.tar.gz"
  tar -czf "$dir/backups/$name-2.tar.gz" -C "$dir" src
  touch -d "-$newest_age hours" "$dir/backups/$name-2.tar.gz"
  cat >"$dir/checklist.json" <<JSON
{"version": 1, "name": "fleet-$name", "checks": [
  {"id": "fresh", "use": "files.freshness", "group": "$name-backups", "severity": "critical",
   "with": {"path": "$dir/backups", "pattern": "*.tar.gz", "max_age": "25h"}},
  {"id": "verify", "use": "archive.verify", "group": "$name-backups", "severity": "critical",
   "with": {"path": "$dir/backups", "pattern": "*.tar.gz"}}
]}
JSON
}
make_sandbox healthy 0
make_sandbox stale 30
make_sandbox damaged 0
# Truncate the damaged one's newest to three quarters: the size ratio (0.75) stays above
# files.freshness' min_ratio 0.5, so only archive.verify sees the damage.
f=$tmp/damaged/backups/damaged-2.tar.gz
head -c $(($(stat -c %s "$f") * 3 / 4)) "$f" >"$f.cut"
mv "$f.cut" "$f"

# --- three backup-doctor serve --------------------------------------------------------------
declare -A port role
for name in healthy stale damaged; do
  "$bin" serve "$tmp/$name/checklist.json" --listen 127.0.0.1:0 --interval 2s \
    >"$tmp/$name/serve.out" 2>"$tmp/$name/serve.err" &
  pids+=($!)
done
for name in healthy stale damaged; do
  wait_for 10 "serve $name to listen" grep -q 'listening on 127.0.0.1:[0-9]' "$tmp/$name/serve.err"
  port[$name]=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name/serve.err" | head -1)
  role[${port[$name]}]=$name
  # the first run finished: /metrics has its timestamp (so no target is ever seen without results)
  wait_for 20 "serve $name's first run" \
    sh -c "curl -sf http://127.0.0.1:${port[$name]}/metrics | grep -q '^backup_doctor_last_run_timestamp_seconds'"
done

# --- webhook receiver -----------------------------------------------------------------------
# Appends each POST body (one JSON document) as a line to webhook.jsonl; binds port 0 and
# writes the port it got to webhook.port.
python3 - "$tmp/webhook.port" "$tmp/webhook.jsonl" >"$tmp/webhook.log" 2>&1 <<'PY' &
import http.server, sys
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as out:
            out.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
PY
pids+=($!)
wait_for 10 "the webhook receiver" test -s "$tmp/webhook.port"
hook=$(cat "$tmp/webhook.port")

# --- Alertmanager ---------------------------------------------------------------------------
am=$(free_port)
cat >"$tmp/alertmanager.yml" <<YAML
route:
  receiver: webhook
  group_by: [alertname, instance, check]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: http://127.0.0.1:$hook/
YAML
quiet amtool check-config "$tmp/alertmanager.yml"
prometheus-alertmanager --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/am-data" \
  --web.listen-address="127.0.0.1:$am" --cluster.listen-address= >"$tmp/alertmanager.log" 2>&1 &
pids+=($!)
wait_for 20 "Alertmanager" curl -sf "http://127.0.0.1:$am/-/ready"

# --- Prometheus -----------------------------------------------------------------------------
# The shipped rules with every `for:` rewritten to 0s: the real durations are minutes (5m, 10m),
# longer than this test may take; the expressions are unchanged.
sed -E 's/^([[:space:]]*)for:.*/\1for: 0s/' "$src/deploy/prometheus/backup-doctor.rules.yml" \
  >"$tmp/backup-doctor.rules.yml"
[ "$(grep -c '^[[:space:]]*for:' "$src/deploy/prometheus/backup-doctor.rules.yml")" = \
  "$(grep -c '^[[:space:]]*for: 0s$' "$tmp/backup-doctor.rules.yml")" ] ||
  fail "not every for: was rewritten"
quiet promtool check rules "$tmp/backup-doctor.rules.yml"
prom=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $tmp/backup-doctor.rules.yml
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$am"]}]
scrape_configs:
  - job_name: backup-doctor
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:${port[healthy]}", "127.0.0.1:${port[stale]}", "127.0.0.1:${port[damaged]}"]
YAML
quiet promtool check config "$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" \
  --web.listen-address="127.0.0.1:$prom" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)

# --- the firing set, from Prometheus --------------------------------------------------------
# "alertname|sandbox|check|checklist", one a line, sorted; the sandbox is the instance's port
# mapped back to its name (an instance that is none of the three prints as itself).
roles=$(for p in "${!role[@]}"; do printf '%s=%s ' "$p" "${role[$p]}"; done)
to_lines='
import json, sys
roles = dict(kv.split("=") for kv in sys.argv[1].split())
state = sys.argv[2]
def out(a):
    l = a["labels"]
    inst = l.get("instance", "-")
    who = roles.get(inst.rpartition(":")[2], inst) if inst.startswith("127.0.0.1:") else inst
    print(l["alertname"], who, l.get("check", "-"), l.get("checklist", "-"), sep="|")
'
firing() {
  curl -sf "http://127.0.0.1:$prom/api/v1/alerts" | python3 -c "$to_lines"'
for a in json.load(sys.stdin)["data"]["alerts"]:
    if a["state"] == state:
        out(a)
' "$roles" firing | sort -u
}
want=$(sort <<'EOF'
BackupArchiveNotVerified|damaged|verify|fleet-damaged
BackupCheckFailed|damaged|verify|fleet-damaged
BackupCheckFailed|stale|fresh|fleet-stale
BackupNewestTooOld|stale|fresh|fleet-stale
EOF
)
got="" start=$SECONDS
while :; do
  got=$(firing 2>/dev/null || true)
  [ "$got" = "$want" ] && break
  ((SECONDS - start < 60)) || fail "firing alerts in Prometheus after 60 s:
${got:-(none)}
expected exactly:
$want
prometheus log: $(tail -20 "$tmp/prometheus.log")"
  sleep 1
done
echo "ok: Prometheus fires exactly the expected alerts after $((SECONDS - start)) s"
# Not vacuous for the healthy instance: Prometheus scrapes it, and holds both its checks as ok.
query() {
  curl -sf --get "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json, sys; print(" ".join(r["value"][1] for r in json.load(sys.stdin)["data"]["result"]))'
}
h="instance=\"127.0.0.1:${port[healthy]}\""
[ "$(query "up{job=\"backup-doctor\"}")" = "1 1 1" ] || fail "not all three targets are up"
[ "$(query "sum(backup_doctor_check_status{$h,status=\"ok\"})")" = 2 ] ||
  fail "the healthy instance's two checks are not ok in Prometheus"
# and stays so for a few more evaluations (nothing late, e.g. for the healthy instance)
for _ in 1 2 3; do
  sleep 1
  got=$(firing || true)
  [ "$got" = "$want" ] || fail "the firing set changed: $got"
done

# --- delivered by Alertmanager to the webhook -----------------------------------------------
# Every alert of every POST as "status|alertname|sandbox|check|checklist"; each expected one must
# arrive firing, and nothing may arrive that is not expected.
delivered() {
  [ -s "$tmp/webhook.jsonl" ] || return 0
  python3 -c "$to_lines"'
for line in open(sys.argv[3]):
    doc = json.loads(line)
    for a in doc["alerts"]:
        print(a["status"], end="|")
        out(a)
' "$roles" firing "$tmp/webhook.jsonl" | sort -u
}
mapfile -t lines <<<"$want"
want_hook=$(printf 'firing|%s\n' "${lines[@]}")
start=$SECONDS
while :; do
  got=$(delivered)
  [ "$got" = "$want_hook" ] && break
  ((SECONDS - start < 30)) || fail "alerts the webhook received from Alertmanager:
${got:-(none)}
expected exactly:
$want_hook
alertmanager log: $(tail -20 "$tmp/alertmanager.log")"
  sleep 1
done
echo "ok: the webhook received them from Alertmanager after $((SECONDS - start)) s"

# --- stop everything ------------------------------------------------------------------------
serve_pids=("${pids[@]:0:3}") others=("${pids[@]:3}")
for pid in "${serve_pids[@]}"; do kill -TERM "$pid"; done
for pid in "${serve_pids[@]}"; do
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || fail "backup-doctor serve (pid $pid) exited $rc on SIGTERM, expected 0"
done
pids=("${others[@]}")
stop_all
for pid in "${serve_pids[@]}" "${others[@]}"; do
  ! kill -0 "$pid" 2>/dev/null || fail "pid $pid still running"
done
! pgrep -P $$ >/dev/null || fail "children still running: $(pgrep -a -P $$)"
echo "ok: every process it started has stopped"

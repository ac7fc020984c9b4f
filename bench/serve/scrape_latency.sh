#!/usr/bin/env bash
# /metrics latency under load: 50 concurrent scrapers for 10 s against `backup-doctor serve` while
# a run is in progress (a 5-second process sample keeps one going), then against node_exporter's
# textfile collector serving the same metrics (written by `backup-doctor run --report`), in the
# same run. Prints p50/p99 and requests per second for both.
#   bench/serve/scrape_latency.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
work=$(mktemp -d /tmp/bd-bench-scrape.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$work/data" "$work/textfile" && touch "$work/data/backup.tar.gz"
cat >"$work/checklist.json" <<JSON
{"version": 1, "name": "latency", "checks": [
  {"id": "file", "use": "files.exists", "with": {"path": "$work/data/backup.tar.gz"}},
  {"id": "fresh", "use": "files.freshness", "with": {"path": "$work/data", "max_age": "25h"}},
  {"id": "processes", "use": "resources.backup_process", "with": {"sample": "5s"}}]}
JSON
"$build/bin/backup-doctor" run "$work/checklist.json" --no-progress \
  --report "prometheus=$work/textfile/backup-doctor.prom" >/dev/null || true
serve_port=$(free_port)
"$build/bin/backup-doctor" serve "$work/checklist.json" --listen "127.0.0.1:$serve_port" --interval 10ms \
  2>"$work/serve.log" &
pids+=($!)
node_port=$(free_port)
prometheus-node-exporter --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$work/textfile" --web.listen-address="127.0.0.1:$node_port" \
  2>"$work/node.log" &
pids+=($!)
# Both answer, and serve has finished its first run (a run is then always in progress).
until curl -sf "http://127.0.0.1:$serve_port/report.json" >/dev/null; do sleep 0.2; done
until curl -sf "http://127.0.0.1:$node_port/metrics" >/dev/null; do sleep 0.2; done

load() { # URL: 50 threads, 10 s, keep-alive connections
  python3 - "$1" <<'PY'
import http.client, sys, threading, time, urllib.parse
url = urllib.parse.urlparse(sys.argv[1])
latencies, lock, stop = [], threading.Lock(), time.monotonic() + 10
def scraper():
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    mine = []
    while time.monotonic() < stop:
        t = time.monotonic()
        conn.request("GET", url.path)
        body = conn.getresponse().read()
        assert body
        mine.append(time.monotonic() - t)
    with lock:
        latencies.extend(mine)
threads = [threading.Thread(target=scraper) for _ in range(50)]
for t in threads: t.start()
for t in threads: t.join()
latencies.sort()
p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
print(f"{p(0.5):.1f} ms | {p(0.99):.1f} ms | {len(latencies) / 10:.0f}")
PY
}
printf '| target | p50 | p99 | requests/s |\n|---|---|---|---|\n'
printf '| backup-doctor serve /metrics (run in progress) | %s |\n' "$(load "http://127.0.0.1:$serve_port/metrics")"
printf '| node_exporter textfile /metrics | %s |\n' "$(load "http://127.0.0.1:$node_port/metrics")"

#!/usr/bin/env bash
# The deployment files (deploy/systemd, deploy/kubernetes; docs/monitoring.md "Fleet rollout"):
#  - the systemd units pass `systemd-analyze verify` with no warning at all (ExecStart pointed at
#    this build's binary, the man pages they name looked up in docs/man), and `systemd-analyze
#    security --offline` rates both services below 3.0 ("OK"); both services keep the same
#    sandbox and the same capabilities, and the package's install rule ships the three units;
#  - the capabilities the units keep are enough, and each is needed: this build's binary, run as
#    root with only that bounding set and no_new_privs (setpriv), reads what the unprivileged
#    test account owns, tests access and runs a program as that account, and kills it at a
#    timeout; without CAP_DAC_READ_SEARCH, CAP_SETUID or CAP_KILL the matching check breaks;
#  - MemoryDenyWriteExecute does not break plugin loading: under the kernel's equivalent
#    (prctl PR_SET_MDWE, Linux 6.3+), all seven plugins load and the checks run;
#  - the Kubernetes manifests are valid YAML with the fields that matter: kinds, the metrics port
#    the same in the DaemonSet, the Service and the ServiceMonitor, every host path read-only,
#    the same capabilities, the ConfigMap's checklist valid for this build.
# Needs root (the account switches), systemd-analyze, setpriv and python3-yaml (scripts/setup).
set -euo pipefail
src=$1 build=$2 bin=$3
. "$(dirname "$0")/common.sh"
chmod 755 "$tmp"  # the test account must reach its directory below
units=$src/deploy/systemd k8s=$src/deploy/kubernetes
python=/usr/bin/python3  # Debian's, with python3-yaml
caps="CAP_DAC_READ_SEARCH CAP_SETUID CAP_SETGID CAP_CHOWN CAP_KILL"
account=backup-doctor-test
[ "$(id -u)" = 0 ] || fail "run as root"
id "$account" >/dev/null 2>&1 || fail "no account $account (scripts/setup makes it)"

# --- systemd-analyze verify: not one line of output --------------------------------------------
mkdir -p "$tmp/units" "$tmp/man/man1" "$tmp/man/man5"
cp "$src/docs/man/backup-doctor.1" "$tmp/man/man1/"
cp "$src/docs/man/backup-doctor-checklist.5" "$tmp/man/man5/"
names=(backup-doctor.service backup-doctor.timer backup-doctor-serve.service)
for u in "${names[@]}"; do
  [ -f "$units/$u" ] || fail "no $units/$u"
  sed "s|/usr/bin/backup-doctor|$bin|g" "$units/$u" >"$tmp/units/$u"
done
out=$(cd "$tmp/units" && MANPATH=$tmp/man SYSTEMD_LOG_COLOR=0 \
  systemd-analyze verify "${names[@]/#/./}" 2>&1) || fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns:
$out"

# --- systemd-analyze security --offline: below 3.0 --------------------------------------------
for u in backup-doctor.service backup-doctor-serve.service; do
  out=$(cd "$tmp/units" && systemd-analyze security --offline=yes --threshold=29 --no-pager "./$u" 2>&1) \
    || fail "$u: exposure 3.0 or more (threshold 2.9):
$out"
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
  [ -n "$score" ] || fail "$u: no exposure level in: $out"
  echo "$u: exposure $score"
done

# --- what the units say -----------------------------------------------------------------------
value() { sed -n "s/^$2=//p" "$units/$1"; }
[ "$(value backup-doctor.service Type)" = oneshot ] || fail "backup-doctor.service is not Type=oneshot"
[ "$(value backup-doctor.service SuccessExitStatus)" = "1 2" ] \
  || fail "backup-doctor.service: warnings and failures (exit 1, 2) must not fail the unit"
grep -q -- "--report prometheus=/var/lib/prometheus/node-exporter/backup-doctor.prom" "$units/backup-doctor.service" \
  || fail "backup-doctor.service does not write node_exporter's textfile directory"
[ "$(value backup-doctor.service ReadWritePaths)" = "-/var/lib/prometheus/node-exporter" ] \
  || fail "backup-doctor.service may write more than the textfile directory"
[ -n "$(value backup-doctor.timer RandomizedDelaySec)" ] || fail "the timer has no RandomizedDelaySec"
grep -q '^ExecStart=/usr/bin/backup-doctor serve ' "$units/backup-doctor-serve.service" || fail "serve unit does not run serve"
# shellcheck disable=SC2016  # $MAINPID is systemd's, literally
[ "$(value backup-doctor-serve.service ExecReload)" = '/bin/kill -HUP $MAINPID' ] || fail "serve: no reload by SIGHUP"
[ "$(value backup-doctor-serve.service Restart)" = on-failure ] || fail "serve: not Restart=on-failure"
for u in backup-doctor.service backup-doctor-serve.service; do
  [ "$(value $u CapabilityBoundingSet)" = "$caps" ] || fail "$u keeps $(value $u CapabilityBoundingSet), not $caps"
  for key in ProtectSystem=strict ProtectHome=read-only PrivateTmp=yes NoNewPrivileges=yes \
    MemoryDenyWriteExecute=yes "SystemCallFilter=@system-service" \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"; do
    grep -qx "$key" "$units/$u" || fail "$u has no $key"
  done
done
# The two services keep the same sandbox (the serve unit writes no report).
sandbox() { sed -n '/^# --- Capabilities/,/^\[Install\]/p' "$units/$1" | grep -v -e '^ReadWritePaths=' -e '^\[Install\]' -e '^$'; }
diff <(sandbox backup-doctor.service) <(sandbox backup-doctor-serve.service) >"$tmp/sandbox.diff" \
  || fail "the two services' sandboxes differ: $(cat "$tmp/sandbox.diff")"

# The package ships the units (cmake/Packaging.cmake: component runtime, /usr/lib/systemd/system).
quiet cmake --install "$build" --component runtime --prefix "$tmp/pkg"
for u in "${names[@]}"; do
  cmp -s "$units/$u" "$tmp/pkg/lib/systemd/system/$u" || fail "the package does not install $u"
done

# The package's own lintian overrides keep every package's (deploy/debian).
while IFS= read -r line; do
  grep -qxF -- "$line" "$src/deploy/debian/lintian-overrides.backup-doctor" \
    || fail "deploy/debian/lintian-overrides.backup-doctor lacks: $line"
done < <(grep -v '^#' "$src/deploy/debian/lintian-overrides")

# --- the capabilities: enough, and each one needed ---------------------------------------------
data=$tmp/data tools=$tmp/bin
mkdir "$data" "$tools"
echo backup >"$data/backup-1.tar.gz"
chown -R "$account:" "$data"
chmod 700 "$data"
chmod 600 "$data/backup-1.tar.gz"
printf '#!/bin/sh\necho "fasttool 1.2.3"\n' >"$tools/fasttool"
printf '#!/bin/sh\necho "slowtool 1.2.3"\nexec sleep 8.25\n' >"$tools/slowtool"
chmod 755 "$tools"/*
cat >"$tmp/caps.json" <<EOF
{"version": 1, "name": "capabilities", "checks": [
  {"id": "read", "use": "files.freshness",
   "with": {"path": "$data", "pattern": "*.tar.gz", "max_age": "1h"}},
  {"id": "access", "use": "files.access",
   "with": {"path": "$data", "user": "$account", "access": ["read", "write"]}},
  {"id": "as-user", "use": "files.tools",
   "with": {"tools": ["fasttool"], "search_path": "$tools", "user": "$account"}},
  {"id": "kill-as-user", "use": "files.tools",
   "with": {"tools": ["slowtool"], "search_path": "$tools", "user": "$account", "timeout": "1s"}}
]}
EOF
# run_with CAPS...: the run as root with only CAPS, like the units; results as "id status" lines.
run_with() {
  local set
  set=$(printf ',+%s' "$@" | tr '[:upper:]' '[:lower:]' | sed 's/cap_//g')
  SECONDS=0
  setpriv --bounding-set "-all$set" --inh-caps=-all --no-new-privs -- \
    env -u BACKUP_DOCTOR_PLUGIN_PATH "$bin" --plugin-dir "$build/lib/backup-doctor/plugins" \
    run "$tmp/caps.json" --no-progress -f json >"$tmp/caps.out" || true
  echo $SECONDS >"$tmp/caps.seconds"
  "$python" -c 'import json, sys
for r in json.load(open(sys.argv[1]))["results"]: print(r["id"], r["status"])' "$tmp/caps.out"
}
elapsed() { cat "$tmp/caps.seconds"; }
status_of() { awk -v id="$1" '$1 == id {print $2}' <<<"$2"; }
# Only ours: other tests may run programs as the same account at the same time.
leftovers() { pgrep -u "$account" -fx 'sleep 8\.25' || true; }

# shellcheck disable=SC2086
results=$(run_with $caps)
for id in read access as-user kill-as-user; do
  [ "$(status_of $id "$results")" = ok ] || fail "with $caps, '$id' is not ok: $results"
done
(($(elapsed) < 6)) || fail "with $caps, the program run as $account was not stopped at its timeout ($(elapsed)s)"
[ -z "$(leftovers)" ] || fail "with $caps, processes of $account were left: $(leftovers)"

without() { local drop=$1; tr ' ' '\n' <<<"$caps" | grep -vx "$drop"; }
# shellcheck disable=SC2046
results=$(run_with $(without CAP_DAC_READ_SEARCH))
[ "$(status_of read "$results")" = error ] || fail "without CAP_DAC_READ_SEARCH, 'read' is not an error: $results"
# shellcheck disable=SC2046
results=$(run_with $(without CAP_SETUID))
[ "$(status_of access "$results")" = error ] || fail "without CAP_SETUID, 'access' is not an error: $results"
[ "$(status_of as-user "$results")" = fail ] || fail "without CAP_SETUID, 'as-user' did not fail: $results"
# shellcheck disable=SC2046
results=$(run_with $(without CAP_KILL))
(($(elapsed) >= 6)) || fail "without CAP_KILL, the program of $account was stopped anyway ($(elapsed)s): is the test still testing?"
pkill -u "$account" -fx 'sleep 8\.25' 2>/dev/null || true
# CAP_SETGID (setgroups, setresgid) and CAP_CHOWN (the pg and rsync plugins' private secret files
# for the account) are not played here: docs/monitoring.md ("Fleet rollout") names the code.

# --- MemoryDenyWriteExecute: the kernel's own (PR_SET_MDWE), where there is one ----------------
mdwe() {
  "$python" - "$@" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
EOF
}
set +e
plugins=$(mdwe "$bin" --plugin-dir "$build/lib/backup-doctor/plugins" plugins 2>&1)
rc=$?
set -e
if [ $rc = 77 ]; then
  echo "this kernel has no PR_SET_MDWE (Linux 6.3+): MemoryDenyWriteExecute not played"
else
  [ $rc = 0 ] || fail "plugins under MDWE: $plugins"
  for name in archive files pg resources rsync s3 selinux; do
    grep -q "^$name 1.0.0 " <<<"$plugins" || fail "plugin $name does not load under MDWE: $plugins"
  done
  if grep -q "^refused" <<<"$plugins"; then fail "plugins refused under MDWE: $plugins"; fi
  out=$(mdwe "$bin" --plugin-dir "$build/lib/backup-doctor/plugins" run "$tmp/caps.json" --no-progress 2>&1) \
    || fail "the checks under MDWE: $out"
fi

# --- Kubernetes manifests ----------------------------------------------------------------------
"$python" - "$k8s" "$tmp/k8s-checklist.json" "$caps" <<'EOF' || fail "the Kubernetes manifests (above)"
import os, sys, yaml
k8s, checklist_out, caps = sys.argv[1], sys.argv[2], sys.argv[3].split()
problems = []
def check(ok, what):
    if not ok: problems.append(what)

docs = {}
for name in sorted(os.listdir(k8s)):
    if name.endswith(".yaml"):
        with open(os.path.join(k8s, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    docs[doc["kind"]] = doc
for kind in ["Namespace", "ConfigMap", "ServiceAccount", "DaemonSet", "Service", "ServiceMonitor", "Kustomization"]:
    check(kind in docs, f"no {kind}")
if problems:
    sys.exit("\n".join(problems))

for name in docs["Kustomization"]["resources"]:
    check(os.path.exists(os.path.join(k8s, name)), f"kustomization names a missing {name}")
ds, svc, sm, cm = docs["DaemonSet"], docs["Service"], docs["ServiceMonitor"], docs["ConfigMap"]
check(ds["apiVersion"] == "apps/v1", "DaemonSet not apps/v1")
check(sm["apiVersion"] == "monitoring.coreos.com/v1", "ServiceMonitor not monitoring.coreos.com/v1")
pod = ds["spec"]["template"]
labels = pod["metadata"]["labels"]
check(all(labels.get(k) == v for k, v in ds["spec"]["selector"]["matchLabels"].items()),
      "the DaemonSet's selector does not match its pods")
check(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()), "the Service selects no pod")
check(all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()),
      "the ServiceMonitor selects no Service")
for where in (pod["metadata"], svc["metadata"]):
    a = where.get("annotations", {})
    check(a.get("prometheus.io/scrape") == "true" and a.get("prometheus.io/port") == "9847"
          and a.get("prometheus.io/path") == "/metrics", f"scrape annotations on {where.get('name', 'the pods')}")
(c,) = pod["spec"]["containers"]
(port,) = c["ports"]
check(port == {"name": "metrics", "containerPort": 9847, "protocol": "TCP"}, f"container port: {port}")
(sport,) = svc["spec"]["ports"]
check(sport["name"] == "metrics" and sport["port"] == 9847 and sport["targetPort"] in ("metrics", 9847),
      f"Service port: {sport}")
check([e["port"] for e in sm["spec"]["endpoints"]] == ["metrics"], "ServiceMonitor endpoint is not the port 'metrics'")
check(c["args"][0] == "serve" and "0.0.0.0:9847" in c["args"], f"not serve on :9847: {c['args']}")
for probe in ("livenessProbe", "readinessProbe"):
    # /healthz is 503 while backups fail: a probe on it would restart the pod for that.
    check(c[probe].get("tcpSocket") == {"port": "metrics"}, f"{probe}: {c[probe]}")

sc = c["securityContext"]
check(sc.get("readOnlyRootFilesystem") is True, "root file system not read-only")
check(sc.get("allowPrivilegeEscalation") is False, "privilege escalation allowed")
check(sc.get("privileged") is False, "privileged")
check(sc["capabilities"]["drop"] == ["ALL"], "capabilities not dropped")
check(sorted(sc["capabilities"]["add"]) == sorted(x[len("CAP_"):] for x in caps),
      f"capabilities {sc['capabilities']['add']} are not the systemd units' {caps}")
check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "no RuntimeDefault seccomp profile")

volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
mounts = {m["name"]: m for m in c["volumeMounts"]}
check(set(volumes) == set(mounts), f"volumes {sorted(volumes)} vs mounts {sorted(mounts)}")
for name, v in volumes.items():
    m = mounts.get(name, {})
    if "hostPath" in v:
        check(m.get("readOnly") is True, f"host path {v['hostPath']['path']} is not mounted read-only")
        if v["hostPath"].get("type") == "Directory":
            check(m.get("mountPath") == v["hostPath"]["path"], f"{name} is not mounted at the host's path")
check(mounts["tmp"]["mountPath"] == "/tmp" and "emptyDir" in volumes["tmp"], "no writable /tmp")
cl = mounts["checklist"]
check(cl["mountPath"] == c["args"][1] and cl.get("readOnly") is True, f"checklist mount: {cl}")
check(volumes["checklist"]["configMap"]["name"] == cm["metadata"]["name"], "checklist volume names another ConfigMap")
check(cl.get("subPath") in cm["data"], "the checklist is not in the ConfigMap")
with open(checklist_out, "w") as f:
    f.write(cm["data"][cl["subPath"]])
for doc in docs.values():
    if doc["kind"] not in ("Namespace", "Kustomization"):
        check(doc["metadata"].get("namespace") == docs["Namespace"]["metadata"]["name"],
              f"{doc['kind']} not in the namespace")
sys.exit("\n".join(problems) if problems else 0)
EOF
out=$(env -u BACKUP_DOCTOR_PLUGIN_PATH "$bin" --plugin-dir "$build/lib/backup-doctor/plugins" \
  validate "$tmp/k8s-checklist.json" 2>&1) || fail "the ConfigMap's checklist: $out"
echo "deploy: ok"

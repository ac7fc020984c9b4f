#!/usr/bin/env bash
# selinux.denials against the reference tools on a synthetic audit log.
#
#   bench/selinux/denials.sh [BUILD_DIR] [RECORDS]
#
# Writes an audit log of RECORDS records (default 1,000,000: AVC denials of several programs
# with their SYSCALL/PATH records, plus the usual USER_*/CRED_*/PROCTITLE traffic and a few junk
# lines), then times, on the same file:
#   grep+awk  the shell pipeline an operator would write: keep "avc:  denied", group by
#             scontext/tcontext/tclass/permission and count (no time window, no correlation)
#   ausearch  `ausearch -m AVC -i` (only when auditd's tools are installed)
#   backup-doctor  `selinux.denials` (window 7d, every program) through the CLI
# and prints wall and CPU seconds of each, and the CPU ratio to grep+awk.
set -euo pipefail

build=${1:-build-host}
records=${2:-1000000}
bin="$build/bin/backup-doctor"
[ -x "$bin" ] || { echo "no $bin: build backup-doctor first" >&2; exit 1; }

work=$(mktemp -d /tmp/bd-bench-selinux-XXXXXX)
trap 'rm -rf "$work"' EXIT

now=$(date +%s)
awk -v n="$records" -v now="$now" 'BEGIN {
  srand(42)
  split("pg_dump rsync tar bash nginx sshd", comm, " ")
  split("postgresql_t rsync_t system_cronjob_t unconfined_service_t httpd_t sshd_t", dom, " ")
  split("default_t user_home_t tmp_t var_t httpd_sys_content_t etc_t", tt, " ")
  split("write read open getattr add_name create", perm, " ")
  serial = 1000
  for (i = 0; i < n; i++) {
    t = now - 6 * 86400 + i * (6 * 86400 / n)
    stamp = sprintf("msg=audit(%.3f:%d):", t, serial++)
    r = rand()
    if (r < 0.2) {
      c = int(rand() * 6) + 1; k = int(rand() * 6) + 1; p = int(rand() * 6) + 1
      printf "type=AVC %s avc:  denied  { %s } for  pid=%d comm=\"%s\" name=\"f%d\" dev=\"dm-0\" ino=%d scontext=system_u:system_r:%s:s0 tcontext=unconfined_u:object_r:%s:s0 tclass=%s permissive=0\n", stamp, perm[p], 1000 + i % 30000, comm[c], i % 100, i, dom[c], tt[k], (p == 5 || p == 6) ? "dir" : "file"
      printf "type=SYSCALL %s arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffd a2=241 a3=1b6 items=1 ppid=1 pid=%d auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"%s\" exe=\"/usr/bin/%s\" subj=system_u:system_r:%s:s0 key=(null)\n", stamp, 1000 + i % 30000, comm[c], comm[c], dom[c]
      printf "type=PATH %s item=0 name=\"/opt/backups/database\" inode=2 dev=fd:00 mode=040755 ouid=0 ogid=0 rdev=00:00 obj=unconfined_u:object_r:%s:s0 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n", stamp, tt[k]
      i += 2
    } else if (r < 0.999) {
      printf "type=USER_ACCT %s pid=%d uid=0 auid=0 ses=%d subj=system_u:system_r:crond_t:s0-s0:c0.c1023 msg=\x27op=PAM:accounting grantors=pam_unix acct=\"root\" exe=\"/usr/sbin/crond\" hostname=? addr=? terminal=cron res=success\x27\n", stamp, 2000 + i % 1000, i % 500
    } else {
      print "Nov 29 10:00:00 backup01 kernel: not an audit record " i
    }
  }
}' >"$work/audit.log"
size=$(du -h "$work/audit.log" | cut -f1)
lines=$(wc -l <"$work/audit.log")

cat >"$work/checklist.json" <<JSON
{"version": 1, "name": "bench",
 "checks": [{"id": "denials", "use": "selinux.denials", "timeout": "10m",
             "with": {"audit_log": "$work/audit.log", "since": "7d", "programs": [], "paths": []}}]}
JSON

# Wall and CPU (user+sys) seconds of a command: "WALL CPU". The build machines are shared, so
# CPU time is the steadier figure.
t() {
  local TIMEFORMAT='%R %U %S' out
  out=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || true
  echo "$out" | awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }'
}
report() { # name "WALL CPU" [reference "WALL CPU"]
  local w c rw rc
  read -r w c <<<"$2"
  if [ -n "${3:-}" ]; then
    read -r rw rc <<<"$3"
    printf '%-14s wall %7.2f s  cpu %7.2f s  (cpu %.2fx grep+awk)\n' "$1" "$w" "$c" "$(echo "$c / $rc" | bc -l)"
  else
    printf '%-14s wall %7.2f s  cpu %7.2f s\n' "$1" "$w" "$c"
  fi
}

grep_awk() {
  grep 'avc:  denied' "$work/audit.log" |
    awk '{ s=""; t=""; c=""; p=""
           for (i = 1; i <= NF; i++) {
             if ($i == "{") { j = i + 1; while ($j != "}") { p = p " " $j; j++ } }
             if ($i ~ /^scontext=/) s = $i; else if ($i ~ /^tcontext=/) t = $i; else if ($i ~ /^tclass=/) c = $i
           }
           n = split(p, perms, " "); for (k = 1; k <= n; k++) print s, t, c, perms[k] }' |
    sort | uniq -c | sort -rn
}

echo "audit log: $lines lines, $size"
ref=$(t grep_awk)
report grep+awk "$ref"
if command -v ausearch >/dev/null; then
  report ausearch "$(t ausearch -m AVC -i -if "$work/audit.log")" "$ref"
else
  echo "ausearch       not installed (apt-get install auditd)"
fi
report backup-doctor "$(t "$bin" run "$work/checklist.json" --format json)" "$ref"
"$bin" run "$work/checklist.json" --format json 2>/dev/null |
  grep -o '"denials": *[0-9]*\|"malformed_lines": *[0-9]*\|"group_count": *[0-9]*' | head -3 | tr '\n' ' '
echo

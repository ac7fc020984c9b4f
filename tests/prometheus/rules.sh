#!/usr/bin/env bash
# The alerting rules against the metrics backup-doctor really emits:
#   1. promtool check rules on deploy/prometheus/backup-doctor.rules.yml and on the guide's rules
#      (runbook.rules.yml, verbatim);
#   2. a real `backup-doctor run --report prometheus=FILE` on a small checklist of files checks
#      over a scratch directory, and every input series of the *.test.yml files must be one of
#      that file's series (labels in the reporter's order, then the target labels instance and
#      job the scrape adds): a renamed metric or label fails here, not in production;
#   3. promtool test rules on the *.test.yml files (each alert firing and not firing).
# Usage: rules.sh SOURCE_DIR BACKUP_DOCTOR_BINARY
set -euo pipefail
src=$1 bin=$2
here=$src/tests/prometheus
source "$src/tests/e2e/common.sh"
source "$here/fixture.sh"

quiet promtool check rules "$src/deploy/prometheus/backup-doctor.rules.yml" "$here/runbook.rules.yml"

run_fixture "$bin"
quiet promtool check metrics <"$tmp/backup-doctor.prom"
# The series as the collector exposes them, with the scratch directory cut off (/backups/db).
sed -e "s|$tmp||g" -e '/^#/d' -e 's/ [^ ]*$//' "$tmp/backup-doctor.prom" | sort -u \
  >"$tmp/emitted.txt"

# Prometheus makes `up` itself; backup_doctor_plugin_refused is not in a run without refused
# plugins (its exact line is in tests/unit/core/prometheus_reporter_test.cpp).
not_from_run='^(up|backup_doctor_plugin_refused)\{'
checked=0 files=0
for test in "$here"/*.test.yml; do
  while read -r series; do
    emitted=$(sed -E -e 's/,instance="[^"]*"//' -e 's/,job="backup-doctor"//' <<<"$series")
    if ! grep -Eq "$not_from_run" <<<"$series"; then
      grep -qxF "$emitted" "$tmp/emitted.txt" ||
        fail "$(basename "$test"): input series $emitted is not what the reporter emits; it emits:
$(grep -F "${emitted%%\{*}{" "$tmp/emitted.txt" || echo "(no series of that name)")"
      checked=$((checked + 1))
    fi
  done < <(sed -nE "s/^ *- series: '(.*)'$/\1/p" "$test")
done
[ "$checked" -gt 10 ] || fail "only $checked input series checked against the reporter's output"

for test in "$here"/*.test.yml; do
  quiet promtool test rules "$test"
  files=$((files + 1))
done
echo "ok: rules valid, $checked input series as the reporter emits them, $files test files pass"

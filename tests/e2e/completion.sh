#!/usr/bin/env bash
# The bash completion (deploy/bash-completion/backup-doctor) in a real bash: sourced, then called
# as readline would (COMP_WORDS, COMP_CWORD), and COMPREPLY compared with what it must offer.
set -euo pipefail
src=$1 bd=$2
. "$(dirname "$0")/common.sh"
. "$src/deploy/bash-completion/backup-doctor"
complete -p backup-doctor | grep -q -- "-F _backup_doctor" || fail "no 'complete -F _backup_doctor backup-doctor'"

# completes WORD...: the line so far, the last word being completed (bash splits at '=' too).
completes() {
  COMP_WORDS=("$bd" "$@")
  COMP_CWORD=$#
  COMPREPLY=()
  _backup_doctor
  printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {
  local want=$1
  shift
  local got
  got=$(completes "$@")
  [ "$got" = "$want" ] || fail "completing '$*': expected '$want', got '$got'"
}

# contains WORD... -- COMPLETION...: every WORD is offered, and nothing else matters.
contains() {
  local want=() got
  while [ "$1" != "--" ]; do want+=("$1"); shift; done
  shift
  got=" $(completes "$@") "
  for w in "${want[@]}"; do
    [[ $got == *" $w "* ]] || fail "completing '$*': '$w' not offered in '$got'"
  done
}

# Commands, and global options before them (their values skipped when finding the command).
expect "describe init plugins run serve validate version" ""
expect "validate" va
expect "--log-level" --log
expect "debug error info off trace warn" --log-level ""
expect "run" --log-level warn r
expect "describe" --plugin-dir "$tmp" desc

# Each command's options, and the values of those that have fixed ones.
expect "--format" run --form
expect "--no-progress" run --no
expect "" validate --fail
expect "json junit nagios prometheus text" run --format ""
expect "junit" run -f ju
expect "nagios" run --format = na
expect "json junit nagios prometheus text" run --format =
expect "error fail warn" run --fail-on ""
expect "always auto never" run --color ""
expect "none set" run --group ""
expect "json text" plugins -f ""
expect "json markdown text" describe --format ""
expect "--all" describe --a
expect "--force --help --output --root -h -o" init -
expect "--interval" serve --inter
expect "--listen" serve --lis
expect "junit=" run --report ju

# Files: checklists and --var-file are JSON (and directories to walk into); --root a directory.
mkdir "$tmp/sub"
touch "$tmp/a.json" "$tmp/b.txt"
expect "$tmp/a.json $tmp/sub" run "$tmp/"
expect "$tmp/a.json" validate "$tmp/a"
expect "$tmp/a.json $tmp/sub" run --var-file "$tmp/"
expect "$tmp/a.json $tmp/b.txt $tmp/sub" run --report junit = "$tmp/"
expect "$tmp/sub" init --root "$tmp/"
expect "$tmp/a.json $tmp/b.txt $tmp/sub" init -o "$tmp/"
touch "$tmp/sub/c.json"
(cd "$tmp/sub" && expect "- c.json" run "" && expect "c.json" run --report junit =)

# Check types and plugin names for describe, from what the binary loads.
expect "files.freshness" describe files.fr
contains files files.exists files.freshness -- describe fil
expect "pg.connect pg.connection_headroom" describe pg.conn
echo "bash completion offers commands, options, values, files and check types"

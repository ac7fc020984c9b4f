# What every tests/e2e script shares (sourced after `set -euo pipefail`): a scratch directory
# removed on exit, fail MESSAGE, and quiet COMMAND... (its output shown only when it fails).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
quiet() { local out; out=$("$@" 2>&1) || fail "$*: $out"; }

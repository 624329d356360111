#!/usr/bin/env bash
# Runs every test (type check, then deno test) and ends with one summary line:
#   "tests: N passed, N failed, N skipped"
#   bash scripts/test.sh [deno test args...]
set -uo pipefail
cd "$(dirname "$0")/.."
DENO=$(command -v deno || echo "$PWD/.tools/node_modules/.bin/deno")
[ -x "$DENO" ] || { echo "deno not found: run bash scripts/setup.sh first" >&2; exit 1; }
export JUPYTER_PATH="$PWD/.jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export NADIR_PROGRESS=0
export NO_COLOR=1

echo "== type check"
"$DENO" task --quiet check || { echo "tests: 0 passed, 1 failed"; exit 1; }

echo "== deno test"
log=$(mktemp)
"$DENO" test -A --unstable-ffi --parallel "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^(ok|FAILED) \|' "$log" | tail -1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
ignored=$(sed -nE 's/.* ([0-9]+) ignored.*/\1/p' <<<"$summary")
rm -f "$log"
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${ignored:-0} skipped"
exit "$rc"

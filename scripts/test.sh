#!/usr/bin/env bash
# Runs every check and test and ends with one summary line:
#   "tests: N passed, N failed, N skipped"
# then one line per skipped test with its reason.
#   bash scripts/test.sh [deno test args...]
# Steps: format (deno fmt --check), lint (deno lint), strict type check of src/ test/ bench/ scripts/,
# then one deno test run over the test files and the @example blocks of src/ (--doc).
set -uo pipefail
cd "$(dirname "$0")/.."
DENO=$(command -v deno || echo "$PWD/.tools/node_modules/.bin/deno")
[ -x "$DENO" ] || { echo "deno not found: run bash scripts/setup.sh first" >&2; exit 1; }
export JUPYTER_PATH="$PWD/.jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export NADIR_PROGRESS=0
export NO_COLOR=1

fail() { echo "tests: 0 passed, 1 failed, 0 skipped ($1)"; exit 1; }

echo "== format"
"$DENO" fmt --check --quiet || fail "deno fmt --check: run deno fmt"
echo "== lint"
"$DENO" lint --quiet || fail "deno lint"
echo "== type check"
"$DENO" task --quiet check || fail "type check"

echo "== deno test (tests and src/ @example blocks)"
log=$(mktemp)
if [ $# -eq 0 ]; then set -- test/ src/; fi
"$DENO" test -A --unstable-ffi --parallel --doc "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^(ok|FAILED) \|' "$log" | tail -1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
ignored=$(sed -nE 's/.* ([0-9]+) ignored.*/\1/p' <<<"$summary")
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${ignored:-0} skipped"
# Every skip goes through test/_shared.ts testWhen, which prints "skip: <test>: <reason>".
grep -E '^skip: ' "$log" | sort -u | sed 's/^/  /'
rm -f "$log"
exit "$rc"

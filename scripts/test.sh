#!/usr/bin/env bash
# Runs every check and test and ends with one summary line:
#   "tests: N passed, N failed, N skipped"
# then one line per skipped test with its reason.
#   bash scripts/test.sh [deno test args...]
# Steps: format (deno fmt --check), lint (deno lint), strict type check of src/ test/ bench/ scripts/,
# then one parallel deno test run over the test files and the @example blocks of src/ (--doc), the files
# that run ONNX models one at a time (see ONNX_TESTS), then the neural detectors' tests on the tfjs engine.
# With arguments, only those tests run, in one sequential run.
set -uo pipefail
cd "$(dirname "$0")/.."
DENO=$(command -v deno || echo "$PWD/.tools/node_modules/.bin/deno")
[ -x "$DENO" ] || { echo "deno not found: run bash scripts/setup.sh first" >&2; exit 1; }
export JUPYTER_PATH="$PWD/.jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export NADIR_PROGRESS=0
export NO_COLOR=1

fail() { echo "tests: 0 passed, 1 failed, 0 skipped ($1)"; exit 1; }

echo "== format"
# Deno 2.9.6's `fmt --check` calls a notebook unformatted on a fresh cache even when `deno fmt` leaves it
# byte-identical (seen on every clean clone), so notebooks are checked by formatting copies and comparing.
# --ignore replaces the config's exclude lists, so they are read from deno.json and extended.
ignore=$("$DENO" eval 'const c = JSON.parse(Deno.readTextFileSync("deno.json")); console.log([...(c.exclude ?? []), ...(c.fmt?.exclude ?? []), "notebooks/"].join(","))')
"$DENO" fmt --check --quiet --ignore="$ignore" || fail "deno fmt --check: run deno fmt"
nbtmp=$(mktemp -d)
cp notebooks/*.ipynb "$nbtmp"/
"$DENO" fmt --quiet --config deno.json "$nbtmp"
for f in notebooks/*.ipynb; do
  cmp -s "$f" "$nbtmp/$(basename "$f")" || fail "deno fmt changes $f: run deno fmt"
done
rm -rf "$nbtmp"
echo "== lint"
"$DENO" lint --quiet || fail "deno lint"
echo "== type check"
"$DENO" task --quiet check || fail "type check"

# onnxruntime-node (loaded by transformers.js for the text-embedding detector) keeps V8 handles of the
# first isolate that loads it: a second isolate in the same process using it panics Deno 2.9 ("attempt
# to use Handle in an Isolate that is not its host"). --parallel runs test files in concurrent isolates,
# so the files that run ONNX models run afterwards, one after another (sequential isolates are safe).
# test/setup_test.ts checks that every test file running the text-embedding detector is listed here.
ONNX_TESTS=(test/detectors/conformance_test.ts test/detectors/property_test.ts test/detectors/text_embedding_test.ts)

log=$(mktemp)
rc=0
passed=0; failed=0; ignored=0
count() {
  local v
  v=$(sed -nE "s/.* ([0-9]+) $1.*/\1/p" <<<"$(grep -E '^(ok|FAILED) \|' "$2" | tail -1)")
  echo "${v:-0}"
}
# run_tests TITLE [env=value...] -- deno-test-args...: one deno test run, its counts added to the totals.
run_tests() {
  local title=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  echo "== $title"
  local part r
  part=$(mktemp)
  env "${envs[@]}" "$DENO" test -A --unstable-ffi "$@" 2>&1 | tee "$part"
  r=${PIPESTATUS[0]}
  [ "$r" -ne 0 ] && rc=$r
  passed=$(( passed + $(count passed "$part") ))
  failed=$(( failed + $(count failed "$part") ))
  ignored=$(( ignored + $(count ignored "$part") ))
  cat "$part" >>"$log"
  rm -f "$part"
}

# The tests' temporary files go to a folder of this run, removed at the end, so no run leaves any behind
# (a test that forgets its own is named below: its module should use test/_scratch.ts or try/finally).
scratch=$(mktemp -d -t nadir-tests-XXXXXX)
export TMPDIR="$scratch"

if [ $# -gt 0 ]; then
  # A chosen subset runs in one sequential run (it may hold several ONNX test files).
  run_tests "deno test $*" -- "$@"
else
  ignore=$(IFS=,; echo "${ONNX_TESTS[*]}")
  run_tests "deno test (tests and src/ @example blocks)" -- --parallel --doc --ignore="$ignore" test/ src/
  run_tests "deno test: files that run ONNX models, one at a time" -- "${ONNX_TESTS[@]}"
  # The neural detectors' own tests once more on the tfjs engine (the first run used the native one): both
  # engines must pass them (issue 12). The conformance suite already runs both engines in one process.
  run_tests "neural detector tests on the tfjs engine (NADIR_BACKEND=tfjs)" NADIR_BACKEND=tfjs -- --parallel \
    test/detectors/autoencoder_test.ts test/detectors/lstm_test.ts test/detectors/flow_lm_test.ts \
    test/detectors/partial_fit_test.ts
fi
left=$(find "$scratch" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
[ -n "$left" ] && echo "note: the tests left $(wc -l <<<"$left") entries in their temp folder (now removed): $(head -5 <<<"$left" | tr '\n' ' ')"
rm -rf "$scratch"
echo "tests: $passed passed, $failed failed, $ignored skipped"
# Every skip goes through test/_shared.ts testWhen, which prints "skip: <test>: <reason>".
grep -E '^skip: ' "$log" | sort -u | sed 's/^/  /'
rm -f "$log"
exit "$rc"

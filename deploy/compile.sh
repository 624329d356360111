#!/usr/bin/env bash
# Builds the single-binary sensor for edge boxes: deploy/compile.sh [OUT] [--target TRIPLE]
#   bash deploy/compile.sh dist/nadir
#   bash deploy/compile.sh dist/nadir-arm64 --target aarch64-unknown-linux-gnu
# `deno compile` downloads the matching Deno runtime (denort) from dl.deno.land on first use (or uses
# $DENORT_BIN); offline machines need it copied into $DENO_DIR/dl first. See docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist/nadir}
shift || true
mkdir -p "$(dirname "$OUT")"
find_dist() { ls -d node_modules/$1/dist/$2 node_modules/.deno/${1/\//+}@*/node_modules/$1/dist/$2 2>/dev/null | head -1; }
PLOT=$(find_dist @observablehq/plot plot.umd.min.js)
D3=$(find_dist d3 d3.min.js)
[ -n "$PLOT" ] && [ -n "$D3" ] || { echo "compile.sh: run deno install first (Plot/d3 bundles for the dashboard not found)" >&2; exit 1; }
deno compile --allow-all --unstable-ffi --no-check --v8-flags=--heap-growing-percent=25,--max-semi-space-size=8,--initial-old-space-size=64 \
  --include src/cli --include src/serve/dashboard --include "$PLOT" --include "$D3" \
  --include src/serve/run.ts --include src/serve/featurizer.ts --include src/serve/live_source.ts \
  --include src/serve/api.ts --include src/serve/models.ts --include src/serve/store.ts \
  --include src/serve/rules.ts --include src/serve/metrics.ts \
  --output "$OUT" "$@" src/cli.ts
echo "compile.sh: wrote $OUT ($(du -h "$OUT" | cut -f1))"

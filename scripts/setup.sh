#!/usr/bin/env bash
# One-command set-up for nadir on Debian/Ubuntu with Node/npm and apt. Idempotent:
# a second run only checks what is already there.
#   bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DENO_VERSION=2.9.6
say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
t0=$(date +%s)

# --- Debian packages: Jupyter (Deno kernel host), libpcap (live capture), tshark/wireshark-common/ndpiReader/
# tcpdump/tcpreplay (peers and tests), argus-server/nfdump (pure flow-meter peers of bench flows), nmap/hping3/ping (traffic in namespace tests), nats-server (alert sink),
# openssl (TLS test certificate), systemd (systemd-analyze checks the unit file), time (bench CPU/RSS), git
# (provenance), OpenBLAS (sgemm of the native neural engine, src/nn/blas.ts), sklearn (speed peer), onnx
# (tiny test model), chromium (report/dashboard tests), fonts for figures. Every program a test or bench spawns is listed in test/_shared.ts PROGRAMS with its package here;
# test/setup_test.ts fails when one is missing from this list.
APT_PACKAGES=(jupyter-notebook jupyter-nbconvert python3-ipykernel jupyter-client python3-nbclient python3-nbformat
  libpcap0.8 tshark wireshark-common tcpdump tcpreplay libndpi-bin argus-server nfdump nmap hping3 iputils-ping nats-server iproute2
  openssl systemd time git bash dash coreutils python3 util-linux mount
  libopenblas0-pthread python3-sklearn python3-scipy python3-numpy python3-onnx chromium fonts-dejavu-core ca-certificates)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer no without a prompt.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "apt-get not found: install these packages by hand: ${missing[*]} (tests that need them will skip)"
  fi
else
  say "Debian packages present"
fi

# --- Deno from the npm package (ships the binary).
DENO=$(command -v deno || true)
if [ -z "$DENO" ] && [ -x "$ROOT/.tools/node_modules/.bin/deno" ]; then DENO="$ROOT/.tools/node_modules/.bin/deno"; fi
if [ -z "$DENO" ]; then
  say "installing deno@$DENO_VERSION from npm"
  if npm install -g --no-fund --no-audit "deno@$DENO_VERSION" >/dev/null 2>&1 && command -v deno >/dev/null; then
    DENO=$(command -v deno)
  else
    say "global npm install not possible; installing into .tools/ (add $ROOT/.tools/node_modules/.bin to PATH)"
    npm install --prefix "$ROOT/.tools" --no-fund --no-audit "deno@$DENO_VERSION" >/dev/null
    DENO="$ROOT/.tools/node_modules/.bin/deno"
  fi
fi
say "deno: $("$DENO" --version | head -1) at $DENO"

# --- npm dependencies (pinned in deno.json, locked in deno.lock) into node_modules/.
"$DENO" install --frozen=false --quiet >/dev/null 2>&1 || "$DENO" install
# Native addons (polars, resvg) ship as prebuilt optional packages; nothing runs install scripts.

# --- Project-local Jupyter kernel ("Deno") under .jupyter/, found through JUPYTER_PATH.
KDIR="$ROOT/.jupyter/kernels/deno"
mkdir -p "$KDIR"
cat > "$KDIR/kernel.json" <<JSON
{
  "argv": ["$DENO", "jupyter", "--kernel", "--conn", "{connection_file}"],
  "display_name": "Deno",
  "language": "typescript",
  "env": {"NO_COLOR": "1", "NADIR_PROGRESS": "0"}
}
JSON
say "Jupyter kernel 'Deno' registered in $KDIR (run notebooks with: deno task notebook)"

# --- Data: verify vendored files against data/SOURCES.md.
"$DENO" task --quiet nadir data verify >/dev/null && say "vendored data verified" || { say "data verification failed"; exit 1; }

# --- Stamp: tests treat a machine with this stamp, root and ../shared/data as complete, where a skip
# for a missing install is a failure rather than a quiet pass (test/_shared.ts completeEnvironment).
mkdir -p "$ROOT/.tools"
printf 'deno %s\npackages %s\n' "$DENO_VERSION" "${APT_PACKAGES[*]}" > "$ROOT/.tools/setup-complete"

say "done in $(( $(date +%s) - t0 ))s"

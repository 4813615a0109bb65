#!/usr/bin/env bash
# Install what building (and, by default, testing) Portolan needs. Idempotent: it checks first
# and installs only what is missing, so running it again costs a few seconds.
#
#   scripts/setup.sh           everything for scripts/test.sh (Chromium, iptables, nftables, …)
#   scripts/setup.sh --build   only what scripts/build-www.sh needs (used by scripts/start.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=test
case "${1:-}" in
  --build) mode=build ;;
  "") ;;
  *) echo "usage: $0 [--build]" >&2; exit 2 ;;
esac

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '%ssetup:%s %s\n' "$bold" "$plain" "$*"; }

# --- Debian packages -------------------------------------------------------------------------
wanted=(python3)
if [ "$mode" = test ]; then
  wanted+=(chromium chromium-driver iptables nftables iproute2)
fi
command -v node >/dev/null 2>&1 || wanted+=(nodejs)
command -v npm >/dev/null 2>&1 || wanted+=(npm)

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    # python3, node and npm may come from elsewhere than Debian (pyenv, nvm): a working command is enough.
    case "$p" in
      python3|nodejs|npm) command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "setup: these Debian packages are missing and this user cannot install them: ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# --- Rust ------------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo was not found; install Rust with rustup first (https://rustup.rs)" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# The test run lints every target with clippy.
if ! cargo clippy --version >/dev/null 2>&1; then
  say "adding clippy"
  rustup component add clippy
fi

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$want" ]; then
  echo "setup: could not read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ] || ! command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
  say "installing wasm-bindgen-cli $want (was: ${have:-none}); this takes a few minutes"
  cargo install wasm-bindgen-cli --version "$want" --no-default-features --force
fi

# --- npm (wasm-opt from binaryen, esbuild, playwright-core, axe-core for the tests) ---------
stamp=node_modules/.portolan-lock.sha256
sum=$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ] || [ ! -x node_modules/.bin/wasm-opt ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$sum" > "$stamp"
fi

say "ready ($mode)"

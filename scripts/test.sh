#!/usr/bin/env bash
# Run every test suite, layer by layer, after installing what is missing:
#   1. native tests (cargo test: unit, snapshot, property and corpus tests, CLI tests), then
#      clippy on every target, warnings as errors
#   2. the page build (scripts/build-www.sh) and the wasm boundary tests under Node
#   3. browser tests of the built page (Playwright driving Debian's Chromium)
#   4. the kernel differential tests (tests/kernel/run.py), which need root
# Stops at the first failing suite with a non-zero exit; always ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Each crate is built once per run: incremental caches would only take disk (about 0.9 GB).
export CARGO_INCREMENTAL=0

passed=0
failed=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
started=$SECONDS

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
banner() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
finish() {
  echo
  echo "test.sh: finished in $((SECONDS - started)) s"
  echo "$passed passed, $failed failed"
}

# run NAME COUNTER CMD... : run a suite, add its counts, stop on failure.
# COUNTER reads the suite's log and prints "<passed> <failed>".
run() {
  local name=$1 counter=$2
  shift 2
  banner "$name"
  local log="$logs/$name.log" rc
  set +e
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  local p f
  read -r p f < <("$counter" "$log")
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$rc" -ne 0 ]; then
    [ "$f" -gt 0 ] || failed=$((failed + 1)) # a suite that failed without a count (build error)
    echo "test.sh: $name failed (exit $rc)"
    finish
    exit 1
  fi
  echo "test.sh: $name: $p passed, $f failed"
}

count_cargo() {
  awk '/^test result: / { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
       END { print p + 0, f + 0 }' "$1"
}
count_tap() {
  awk '/^# pass / { p = $3 } /^# fail / { f = $3 } END { print p + 0, f + 0 }' "$logs/browser.tap"
}
count_kernel() {
  grep -Eo '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n1 | awk '{ print $1 + 0, $3 + 0 } END { if (NR == 0) print 0, 0 }'
}
count_none() { echo 0 0; }

run setup count_none bash scripts/setup.sh
run native count_cargo cargo test
run lint count_none cargo clippy --all-targets -- -D warnings
run build-www count_none bash scripts/build-www.sh
run wasm count_cargo cargo test --target wasm32-unknown-unknown --test web
run browser count_tap node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$logs/browser.tap" tests/browser/

if [ -f tests/kernel/run.py ]; then
  if [ "$(id -u)" -eq 0 ]; then
    run kernel count_kernel python3 tests/kernel/run.py
  elif [ "${CI:-}" = true ]; then
    echo "test.sh: the kernel tests need root, and CI must run them"
    failed=$((failed + 1))
    finish
    exit 1
  else
    banner kernel
    echo "test.sh: skipped: the kernel differential tests need root (sudo bash scripts/test.sh)"
  fi
fi

finish

#!/usr/bin/env bash
# Build the static page into dist/: the Rust core compiled to WebAssembly, its JS bindings,
# optimised with wasm-opt, plus the page's sources from www/. Host dist/ on any static server.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Build settings live in wasm-pack.toml.
read_setting() {
  python3 -c 'import sys, tomllib
c = tomllib.load(open("wasm-pack.toml", "rb"))
v = c
for k in sys.argv[1].split("."):
    v = v[k]
print(" ".join(v) if isinstance(v, list) else v)' "$1"
}
out=$(read_setting build.out_dir)
bindgen_target=$(read_setting build.target)
opt_flags=$(read_setting wasm_opt.flags)
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

# Size over speed for the page: the analysis is far from the bottleneck of a page that parses a
# few files, and a smaller module starts faster. The native CLI keeps the release profile as is.
level="${WASM_OPT_LEVEL:-$(read_setting build.opt_level)}"
case "$level" in s|z) level="\"$level\"" ;; esac # TOML: opt-level is 0-3 or "s"/"z"
echo "build-www: compiling the core to WebAssembly (release, opt-level=$level)"
cargo build --release --lib --target wasm32-unknown-unknown \
  --config "profile.release.opt-level=$level" \
  --config "profile.release.package.\"*\".opt-level=$level"

rm -rf "$out"
mkdir -p "$out"
cp -R www/. "$out"/
rm -rf "$out/pkg"
# The map's graph drawing library, pinned in package.json, served from the page's own folder.
mkdir -p "$out/vendor"
cp node_modules/cytoscape/dist/cytoscape.esm.min.mjs "$out/vendor/"
cp node_modules/cytoscape/LICENSE "$out/vendor/cytoscape.LICENSE"

# Libraries from npm (package.json pins them), copied beside the page: never loaded from a CDN.
# fflate (MIT) decompresses the zip archives given to the page (www/zip.js): 89 KB, 21 KB
# gzipped. The Rust alternative, the zip crate with only Deflate, measured 171 KB after wasm-opt
# (86 KB gzipped) added to the module, which every visitor would download.
mkdir -p "$out/vendor"
{
  echo "// fflate $(node -p 'require("./node_modules/fflate/package.json").version') — MIT License, Copyright (c) 2023 Arjun Barrett; https://github.com/101arrowz/fflate"
  cat node_modules/fflate/esm/browser.js
} > "$out/vendor/fflate.js"
cp node_modules/fflate/LICENSE "$out/vendor/fflate.LICENSE"

echo "build-www: generating JS bindings"
wasm-bindgen --target "$bindgen_target" --no-typescript --out-dir "$out/pkg" \
  "$target_dir/wasm32-unknown-unknown/release/portolan.wasm"

wasm="$out/pkg/portolan_bg.wasm"
before=$(stat -c %s "$wasm")
# binaryen from npm (package.json), never Debian's binaryen: its old wasm-opt produces modules
# that fail at run time.
echo "build-www: optimising with $(node_modules/.bin/wasm-opt --version)"
# shellcheck disable=SC2086 # the flags are words
node_modules/.bin/wasm-opt $opt_flags "$wasm" -o "$wasm.opt"
mv "$wasm.opt" "$wasm"
after=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)

# The worker (www/worker.js with the module's bindings, zip.js and fflate) bundled into one script
# and put into index.html as text: the page starts every worker from a Blob of it, so that a worker
# started after Cancel fetches nothing (the compiled module is handed over by message).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# import.meta names the hosted files in the bindings, which a worker given its module never uses:
# that warning is expected, every other one is shown.
node_modules/.bin/esbuild "$out/worker.js" --bundle --format=iife --target=es2022 --minify --log-level=warning \
  --log-override:empty-import-meta=silent --outfile="$tmp/worker.js"
python3 - "$out/index.html" "$tmp/worker.js" <<'PY'
import pathlib, re, sys
page_path, worker_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
worker = worker_path.read_text()
if re.search(r"</script", worker, re.I):
    sys.exit("build-www: the worker bundle contains a closing script tag and cannot be inlined")
page = page_path.read_text()
tag = '<script type="text/plain" id="portolan-worker">' + worker + "</script>\n</body>"
page, n = re.subn(r"</body>(?=\s*</html>\s*$)", lambda _m: tag, page, count=1)
if n != 1:
    sys.exit("build-www: index.html has no </body>")
page_path.write_text(page)
PY
# Only the bundle inside index.html runs: the worker's source is not served.
rm "$out/worker.js"

echo "build-www: $wasm $after bytes ($((after / 1024)) KiB; $((gz / 1024)) KiB gzipped; $((before / 1024)) KiB before wasm-opt)"
# What the page loads: its modules, the worker bundle inside index.html and cytoscape (zip.js,
# fflate and the module's bindings are inside the worker bundle).
page_js=$(ls "$out"/*.js | grep -v '/zip\.js$')
# shellcheck disable=SC2086 # file names without spaces
js_gz=$(cat $page_js "$tmp/worker.js" "$out"/vendor/*.mjs | gzip -9 -c | wc -c)
echo "build-www: wasm + JavaScript transferred: $(((gz + js_gz) / 1024)) KiB gzipped ($((js_gz / 1024)) KiB of it JavaScript, cytoscape included)"
echo "build-www: the page is in $out/ — copy that folder to any static host"

# The same page as one self-contained HTML file for file:// (scripts/build-single.sh).
bash scripts/build-single.sh --no-build

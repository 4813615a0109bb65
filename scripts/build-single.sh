#!/usr/bin/env bash
# Build the page as one self-contained HTML file, dist/portolan.html, that works opened from
# file:// with no server and makes no request at all: the WebAssembly module (base64), the
# worker, the page's scripts and style, fflate and the sample networks are all inside it.
#
#   scripts/build-single.sh            build the page (scripts/build-www.sh), then the file
#   scripts/build-single.sh --no-build only assemble the file from the dist/ already built
#
# The page's scripts are bundled with esbuild (package.json pins it). The file keeps the hosted
# page's guarantees with a Content-Security-Policy meta tag: the inline script and style are
# allowed by their SHA-256 hashes only, the worker runs from a Blob of the page's own embedded
# code (as on the hosted page: scripts/build-www.sh puts it into index.html), the module is
# compiled by WebAssembly.compile ('wasm-unsafe-eval'), and connect-src is 'none': nothing can be
# fetched. The module and the samples are given to the first worker as text (#portolan-embed).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  --no-build) ;;
  "") bash scripts/build-www.sh ;;
  *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
esac

out=$(python3 -c 'import tomllib; print(tomllib.load(open("wasm-pack.toml", "rb"))["build"]["out_dir"])')
for f in index.html main.js style.css pkg/portolan.js pkg/portolan_bg.wasm samples/index.json; do
  [ -f "$out/$f" ] || { echo "build-single: $out/$f is missing: run scripts/build-www.sh first" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
esbuild=node_modules/.bin/esbuild
# import.meta only names the hosted files, which the embedded page never uses: its warning is
# expected, every other warning is shown.
"$esbuild" "$out/main.js" --bundle --format=iife --target=es2022 --minify --log-level=warning --log-override:empty-import-meta=silent --outfile="$tmp/main.js"

python3 - "$out" "$tmp" <<'EOF'
import base64, hashlib, json, pathlib, re, sys

out, tmp = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
b64 = lambda b: base64.b64encode(b).decode("ascii")
sha = lambda text: "'sha256-" + b64(hashlib.sha256(text.encode("utf-8")).digest()) + "'"

# Every file under samples/ that index.json names, by its path below the page.
index = json.loads((out / "samples/index.json").read_text())
names = {"samples/index.json"}
for s in index.get("samples", []):
    for f in s.get("files", []) + [s[k] for k in ("manifest", "workshop") if s.get(k)]:
        names.add("samples/" + f)
files = {n: b64((out / n).read_bytes()) for n in sorted(names)}
embed = {"wasm": b64((out / "pkg/portolan_bg.wasm").read_bytes()), "files": files}

embed_text = json.dumps(embed, separators=(",", ":"))
main = (tmp / "main.js").read_text()
css = (out / "style.css").read_text()
for name, text in (("embedded files", embed_text), ("main script", main), ("style", css)):
    if re.search(r"</(script|style)", text, re.I):
        sys.exit(f"build-single: the {name} contains a closing tag and cannot be inlined")

page = (out / "index.html").read_text()
if 'id="portolan-worker"' not in page:
    sys.exit(f"build-single: {out}/index.html has no worker: run scripts/build-www.sh first")
csp = (
    "default-src 'none'; script-src " + sha(main) + " 'wasm-unsafe-eval'; worker-src blob:; connect-src 'none'; "
    "style-src " + sha(css) + "; img-src data:; base-uri 'none'; form-action 'none'"
)
replacements = [
    (r'<meta http-equiv="Content-Security-Policy" content="[^"]*">', f'<meta http-equiv="Content-Security-Policy" content="{csp}">'),
    (r'<link rel="stylesheet" href="style.css">', "<style>" + css + "</style>"),
    (r'<script type="module" src="main.js"></script>\n', ""),
    (r"</body>(?=\s*</html>\s*$)", '<script type="text/plain" id="portolan-embed">' + embed_text + "</script>\n<script>" + main + "</script>\n</body>"),
]
for pattern, new in replacements:
    page, n = re.subn(pattern, lambda _m: new, page, count=1)
    if n != 1:
        sys.exit(f"build-single: index.html has no {pattern!r}")
target = out / "portolan.html"
target.write_text(page)
print(f"build-single: {target} {target.stat().st_size} bytes ({target.stat().st_size // 1024} KiB), {len(files)} sample files embedded")
EOF

#!/usr/bin/env bash
# Install what is missing, build the page and serve it on http://127.0.0.1:${PORT:-8000}/.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-8000}"
bash scripts/setup.sh --build
bash scripts/build-www.sh
echo
echo "Portolan is at http://127.0.0.1:$port/  (Ctrl-C stops the server)"
exec python3 -m http.server --bind 127.0.0.1 --directory dist "$port"

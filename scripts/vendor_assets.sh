#!/usr/bin/env bash
# Copy the pinned front-end packages' built files and licences into static/vendor/ (run by `make assets`).
# The copies are committed, so running the app needs neither Node nor the network.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --ignore-scripts --no-audit --no-fund
copy() { # package, files...
  local pkg=$1; shift
  local dest="static/vendor/$pkg"
  rm -rf "$dest" && mkdir -p "$dest"
  for file in "$@"; do cp "node_modules/$pkg/$file" "$dest/"; done
  local version
  version=$(node -p "require('./node_modules/$pkg/package.json').version")
  printf '%s %s\n' "$pkg" "$version" > "$dest/VERSION"
}
# The source map ships beside the bundle it names (sourceMappingURL): collectstatic with the manifest
# storage refuses a file whose references are missing.
copy chart.js dist/chart.umd.min.js dist/chart.umd.min.js.map LICENSE.md
copy axe-core axe.min.js LICENSE
copy world-atlas countries-110m.json LICENSE
copy cytoscape dist/cytoscape.min.js LICENSE
# Redoc comes from the pinned drf-spectacular-sidecar (a Python package), patched not to fetch a CDN logo.
"${PYTHON:-.venv/bin/python}" scripts/vendor_redoc.py
echo "static/vendor updated:"; ls -R static/vendor

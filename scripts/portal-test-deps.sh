#!/usr/bin/env bash
# Installs what the portal's browser tests need beyond Go: axe-core from
# the npm registry into the git-ignored .cache/axe (once), and checks that
# Chromium is there (CI installs it in .ci/run). Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
AXE_VERSION=4.14.1
dest=.cache/axe
if [[ ! -f "$dest/node_modules/axe-core/axe.min.js" ]] || ! grep -q "\"version\": \"$AXE_VERSION\"" "$dest/node_modules/axe-core/package.json" 2>/dev/null; then
  if ! command -v npm >/dev/null; then
    echo "portal-test-deps: npm is needed to install axe-core (apt-get install -y npm)" >&2
    exit 1
  fi
  mkdir -p "$dest"
  npm install --prefix "$dest" --no-save --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
fi
if [[ ! -x "${DEIOPS_CHROMIUM:-/usr/bin/chromium}" ]]; then
  echo "portal-test-deps: Chromium not found at ${DEIOPS_CHROMIUM:-/usr/bin/chromium}; install it with: apt-get install -y chromium" >&2
fi

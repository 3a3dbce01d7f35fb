#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/browser), when it is missing and apt can install it.
# Never fails the build: where Chromium cannot be installed, the browser tests skip themselves and say why.
# Playwright never downloads a browser here (closed network).
set -u
if [ -n "${CHROMIUM_PATH:-}" ] && [ ! -x "$CHROMIUM_PATH" ]; then
  echo "install-chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable; the browser tests will be skipped." >&2
  exit 0
fi
exec "$(dirname "$0")/apt-install.sh" chromium chromium "the browser tests (test/browser)" \
  "${CHROMIUM_PATH:-/usr/bin/chromium}"

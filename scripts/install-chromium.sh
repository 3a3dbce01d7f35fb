#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/browser), when it is missing and apt can install it.
# Never fails the build: where Chromium cannot be installed, the browser tests skip themselves and say why,
# so this script only explains and exits 0. Playwright never downloads a browser here (closed network).
set -u

chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ -x "$chromium_path" ]; then
  exit 0
fi

skip() {
  echo "install-chromium: $1; the browser tests (test/browser) will be skipped." >&2
  exit 0
}

if [ -n "${CHROMIUM_PATH:-}" ]; then
  skip "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
fi
command -v apt-get >/dev/null 2>&1 || skip "Chromium is not at $chromium_path and there is no apt-get to install it"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  # Only a sudo that does not ask for a password: `make test` must not stop at a prompt.
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    skip "installing Chromium needs root (or password-less sudo)"
  fi
fi

echo "install-chromium: installing Debian's chromium package with apt-get..."
# Another apt run (a parallel session, unattended upgrades) may hold the lock for a while: wait for it.
apt_opts=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=2)
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get "${apt_opts[@]}" update -qq; then
  skip "apt-get update failed"
fi
if ! $sudo apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends chromium >/dev/null; then
  skip "apt-get install chromium failed"
fi
if [ ! -x "$chromium_path" ]; then
  skip "the chromium package installed, but $chromium_path is not there"
fi
echo "install-chromium: $("$chromium_path" --version 2>/dev/null || echo "$chromium_path") installed."

#!/usr/bin/env bash
# Installs one Debian package for a test suite that needs a system tool, without ever failing the build:
#   scripts/apt-install.sh <name for messages> <package> <what skips without it> <path> [<path> ...]
# Exits 0 at once when every <path> is executable; otherwise installs <package> with apt-get (as root, or with a
# password-less sudo: `make test` must not stop at a prompt) and checks the paths again. Where that cannot be
# done it says why and still exits 0: the suites that need the tool skip themselves and say so too.
set -u

name="$1" package="$2" skips="$3"
shift 3

all_there() {
  for path in "$@"; do [ -x "$path" ] || return 1; done
}
all_there "$@" && exit 0

skip() {
  echo "install-$name: $1; $skips will be skipped." >&2
  exit 0
}

command -v apt-get >/dev/null 2>&1 || skip "$* missing and there is no apt-get to install $package"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    skip "installing $package needs root (or password-less sudo)"
  fi
fi

echo "install-$name: installing Debian's $package package with apt-get..."
# Another apt run (a parallel session, unattended upgrades) may hold the lock for a while: wait for it.
apt_opts=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=2)
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get "${apt_opts[@]}" update -qq || skip "apt-get update failed"
$sudo apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "$package" >/dev/null ||
  skip "apt-get install $package failed"
all_there "$@" || skip "the $package package installed, but $* is not all there"
echo "install-$name: $package installed."

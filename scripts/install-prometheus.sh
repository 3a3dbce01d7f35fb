#!/usr/bin/env bash
# Installs Debian's Prometheus (the `prometheus` package: the prometheus server and promtool) for the rule checks
# (test/deploy/prometheus/rules.test.ts) and the live-alert test (test/deploy/prometheus/liveAlerts.test.ts), when they are
# missing and apt can install them. Never fails the build: where they cannot be installed, those tests skip
# themselves and say why, so this script only explains and exits 0. The tests run their own Prometheus on a
# free port; on a machine with systemd the package also starts its own service on :9090, which they never use.
set -u

prometheus_path="${PROMETHEUS_PATH:-/usr/bin/prometheus}"
promtool_path="${PROMTOOL_PATH:-/usr/bin/promtool}"

if [ -x "$prometheus_path" ] && [ -x "$promtool_path" ]; then
  exit 0
fi

skip() {
  echo "install-prometheus: $1; the Prometheus rule and alert tests (test/deploy/prometheus) will be skipped." >&2
  exit 0
}

if [ -n "${PROMETHEUS_PATH:-}${PROMTOOL_PATH:-}" ]; then
  skip "PROMETHEUS_PATH or PROMTOOL_PATH is set but not an executable"
fi
command -v apt-get >/dev/null 2>&1 || skip "Prometheus is not at $prometheus_path and there is no apt-get to install it"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  # Only a sudo that does not ask for a password: `make test` must not stop at a prompt.
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    skip "installing Prometheus needs root (or password-less sudo)"
  fi
fi

echo "install-prometheus: installing Debian's prometheus package with apt-get..."
# Another apt run (a parallel session, unattended upgrades) may hold the lock for a while: wait for it.
apt_opts=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=2)
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get "${apt_opts[@]}" update -qq; then
  skip "apt-get update failed"
fi
# No recommends: the node exporter and friends are not needed here.
if ! $sudo apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends prometheus >/dev/null; then
  skip "apt-get install prometheus failed"
fi
if [ ! -x "$prometheus_path" ] || [ ! -x "$promtool_path" ]; then
  skip "the prometheus package installed, but $prometheus_path or $promtool_path is not there"
fi
echo "install-prometheus: $("$promtool_path" --version 2>&1 | head -n 1) installed."

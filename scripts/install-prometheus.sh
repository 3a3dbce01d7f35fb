#!/usr/bin/env bash
# Installs Debian's Prometheus (the `prometheus` package: the prometheus server and promtool) for the rule checks
# and the live-alert test (test/deploy/prometheus), when they are missing and apt can install them. Never fails
# the build: where they cannot be installed, those tests skip themselves and say why. The tests run their own
# Prometheus on a free port; on a machine with systemd the package also starts its own service on :9090, which
# they never use.
set -u
if [ -n "${PROMETHEUS_PATH:-}${PROMTOOL_PATH:-}" ]; then
  for path in ${PROMETHEUS_PATH:-} ${PROMTOOL_PATH:-}; do
    if [ ! -x "$path" ]; then
      echo "install-prometheus: $path is not an executable; the Prometheus tests will be skipped." >&2
      exit 0
    fi
  done
fi
exec "$(dirname "$0")/apt-install.sh" prometheus prometheus \
  "the Prometheus rule and alert tests (test/deploy/prometheus)" \
  "${PROMETHEUS_PATH:-/usr/bin/prometheus}" "${PROMTOOL_PATH:-/usr/bin/promtool}"

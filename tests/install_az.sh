#!/usr/bin/env bash
# Install the real Azure CLI into its own virtualenv, .venv-az, beside the project's .venv:
# azure-cli pins many azure-mgmt-* packages that would clash with acrctl's test dependencies.
# tests/test_az_cli.py (and the side-by-side test) run .venv-az/bin/az; .ci/run calls this
# script before pytest. Idempotent: an existing venv with the wanted version is kept.
# Any failure stops the script with a non-zero exit (no silent skip).
set -euo pipefail
cd "$(dirname "$0")/.."
AZ_VERSION="${AZ_VERSION:-2.91.0}"
VENV="${AZ_VENV:-.venv-az}"
PYTHON="${PYTHON:-python3}"
if [ -x "$VENV/bin/az" ] && "$VENV/bin/python" -m pip show azure-cli 2>/dev/null \
    | grep -qx "Version: $AZ_VERSION"; then
  echo "azure-cli $AZ_VERSION: already installed in $VENV"
  exit 0
fi
start=$(date +%s)
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "azure-cli==$AZ_VERSION"
AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CONFIG_DIR="$(mktemp -d)" "$VENV/bin/az" version \
  --output none
echo "azure-cli $AZ_VERSION: installed in $VENV in $(( $(date +%s) - start )) s"

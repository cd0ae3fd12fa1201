#!/usr/bin/env bash
# An az-style script: the same steps run against Azure with ACR="az acr" (and GROUP="az group").
# acrctl is a drop-in: the test runs this with ACR=<venv>/bin/acrctl on a throwaway state.
#
# Usage: ACR=acrctl az_style.sh OUTDIR
# Writes the JSON/TSV of selected steps into OUTDIR for the caller to check.
set -euo pipefail

OUT="${1:?usage: az_style.sh OUTDIR}"
ACR="${ACR:-az acr}"
if [[ "$ACR" == "az acr" ]]; then GROUP="${GROUP:-az group}"; else GROUP="${GROUP:-$ACR group}"; fi
RG="azstylegroup"
REG="azstylereg1"
HOOK="azstylehook"
# A receiver that accepts POSTs: `webhook ping` reports a refused delivery as an error.
HOOK_URI="${HOOK_URI:-http://127.0.0.1:9/hook}"

$GROUP create -n "$RG" -l westus -o none
$ACR create -n "$REG" -g "$RG" --sku Basic -o none
$ACR update -n "$REG" --sku Premium --query sku.name -o tsv > "$OUT/sku.txt"

# Geo-replication: add eastus, look at it, turn its regional endpoint off, remove it.
$ACR replication create -r "$REG" -l eastus -o none
$ACR replication list -r "$REG" > "$OUT/replications.json"
$ACR replication list -r "$REG" -o table > "$OUT/replications.txt"
# The pre-2.86 spelling of --global-endpoint-routing, as pinned scripts still use it.
$ACR replication update -r "$REG" -n eastus --region-endpoint-enabled false \
  > "$OUT/replication-update.json"
$ACR replication delete -r "$REG" -n eastus
$ACR replication list -r "$REG" --query "[].name" -o tsv > "$OUT/after-delete.txt"

# A webhook: create, ping, read its events and its (secret) config, delete.
$ACR webhook create -r "$REG" -n "$HOOK" --uri "$HOOK_URI" --actions push \
  --headers "Authorization=Basic 000000" -o none
$ACR webhook ping -r "$REG" -n "$HOOK" > "$OUT/ping.json"
$ACR webhook list-events -r "$REG" -n "$HOOK" > "$OUT/events.json"
$ACR webhook get-config -r "$REG" -n "$HOOK" > "$OUT/config.json"
$ACR webhook show -r "$REG" -n "$HOOK" > "$OUT/webhook.json"
$ACR webhook delete -r "$REG" -n "$HOOK"
$ACR webhook list -r "$REG" > "$OUT/webhooks-after.json"

echo "az-style script finished"

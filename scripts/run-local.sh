#!/usr/bin/env bash
# Runs a local cluster on 127.0.0.1: nats-server (JetStream, temporary storage) and two gateway
# nodes. Prints the URLs; Ctrl-C stops everything this script started (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v nats-server >/dev/null 2>&1 || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get update -q && $sudo apt-get install -y -q nats-server; }

NATS_PORT=${NATS_PORT:-4222}
NATS_MONITOR_PORT=${NATS_MONITOR_PORT:-8222}
NODE_PORTS=(${NODE_PORTS:-8081 8082})
store=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$store"
}
trap cleanup EXIT INT TERM

dotnet build -c Release gateway/src/Gateway -v q -nologo >/dev/null
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -sd "$store" >"$store/nats.log" 2>&1 &
pids+=($!)

i=0
for port in "${NODE_PORTS[@]}"; do
  i=$((i + 1))
  dotnet gateway/src/Gateway/bin/Release/net10.0/Gateway.dll --urls "http://127.0.0.1:$port" \
    --Nats:Url "nats://127.0.0.1:$NATS_PORT" --Gateway:NodeId "gw-$i" >"$store/gw-$i.log" 2>&1 &
  pids+=($!)
done

for port in "${NODE_PORTS[@]}"; do
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz/ready" >/dev/null 2>&1 && break; sleep 0.1; done
done

echo "NATS:          nats://127.0.0.1:$NATS_PORT (monitoring http://127.0.0.1:$NATS_MONITOR_PORT)"
i=0
for port in "${NODE_PORTS[@]}"; do
  i=$((i + 1))
  echo "gateway gw-$i:  ws://127.0.0.1:$port/ws  publish: POST http://127.0.0.1:$port/api/v1/publish/<topic>  metrics: http://127.0.0.1:$port/metrics"
done
echo "logs in $store; Ctrl-C to stop"
wait

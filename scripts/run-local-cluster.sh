#!/usr/bin/env bash
# Local cluster on 127.0.0.1: nats-server (JetStream, temp store) + 3 gateway nodes + control plane/router.
# Prints the client, admin and metrics URLs; Ctrl-C stops everything it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

NATS_PORT=${NATS_PORT:-4222}
NODE_PORTS=(${NODE_PORTS:-8081 8082 8083})
CP_PORT=${CP_PORT:-8000}
CONFIG=${CONFIG:-Release}

if ! command -v nats-server >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q nats-server
fi

echo "building gateway and control plane ($CONFIG)..."
dotnet build -c "$CONFIG" -v q -nologo gateway/src/Gateway >/dev/null
dotnet build -c "$CONFIG" -v q -nologo control-plane/src/ControlPlane >/dev/null
GATEWAY_DLL=gateway/src/Gateway/bin/$CONFIG/net10.0/Gateway.dll
CP_DLL=control-plane/src/ControlPlane/bin/$CONFIG/net10.0/ControlPlane.dll

WORK=$(mktemp -d -t pubsub-cluster-XXXXXX)
PIDS=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  # Control plane and nodes first (nodes drain and deregister through NATS), nats-server last.
  for ((i = ${#PIDS[@]} - 1; i >= 1; i--)); do kill -TERM "${PIDS[$i]}" 2>/dev/null || true; done
  for ((i = ${#PIDS[@]} - 1; i >= 1; i--)); do wait "${PIDS[$i]}" 2>/dev/null || true; done
  kill -TERM "${PIDS[0]}" 2>/dev/null || true
  wait "${PIDS[0]}" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup INT TERM EXIT

nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$WORK/nats" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$NATS_PORT") 2>/dev/null && break; sleep 0.1; done
NATS_URL=nats://127.0.0.1:$NATS_PORT

i=0
for port in "${NODE_PORTS[@]}"; do
  i=$((i + 1))
  dotnet "$GATEWAY_DLL" --urls "http://127.0.0.1:$port" --Nats:Url "$NATS_URL" --Gateway:NodeId "node-$i" --Gateway:TrustedProxies:0 127.0.0.1 \
    --Gateway:Drain:WindowMs 10000 >"$WORK/node-$i.log" 2>&1 &
  PIDS+=($!)
done

dotnet "$CP_DLL" --urls "http://127.0.0.1:$CP_PORT" --Nats:Url "$NATS_URL" >"$WORK/control-plane.log" 2>&1 &
PIDS+=($!)

for _ in $(seq 100); do curl -fs "http://127.0.0.1:$CP_PORT/healthz/ready" >/dev/null 2>&1 && break; sleep 0.2; done
for _ in $(seq 50); do
  [ "$(curl -fs "http://127.0.0.1:$CP_PORT/api/v1/nodes" | grep -o '"state":"active"' | wc -l)" -ge "${#NODE_PORTS[@]}" ] && break
  sleep 0.2
done

cat <<INFO

pubsub-gateway local cluster (logs in $WORK)
  client WebSocket (via router):  ws://127.0.0.1:$CP_PORT/ws          (subprotocol pubsub.v1.json)
  HTTP publish (via router):      http://127.0.0.1:$CP_PORT/api/v1/publish/<topic>
  admin API (loopback, no token): http://127.0.0.1:$CP_PORT/api/v1/nodes   (scripts/gwctl nodes)
  control-plane metrics:          http://127.0.0.1:$CP_PORT/metrics
INFO
for port in "${NODE_PORTS[@]}"; do echo "  gateway node metrics:           http://127.0.0.1:$port/metrics"; done
echo "  NATS:                           $NATS_URL"
echo; echo "Ctrl-C stops everything."
wait

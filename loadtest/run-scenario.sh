#!/usr/bin/env bash
# One run of a LoadTest scenario against a fresh nats-server + Release gateway (servers.sh: free
# loopback ports, per-IP limit lifted, stopped by PID on exit). Passes the gateway's URLs and PIDs;
# everything after the scenario name goes to LoadTest. Every run is bounded by its --duration.
#
#   loadtest/run-scenario.sh churn --subscribers 200 --duration 10 [--rate 100] [--out DIR]
#   loadtest/run-scenario.sh soak --subscribers 1000 --rate 500 --duration 60 --interval 10
set -euo pipefail
cd "$(dirname "$0")/.."

scenario="${1:?usage: run-scenario.sh churn|soak|fanout|topics|connect [--out DIR] [LoadTest options]}"; shift
out=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
out="${out:-$(mktemp -d "/tmp/$scenario-XXXXXX")}"
mkdir -p "$out"

source loadtest/servers.sh
build_release
start_servers "$out"
loadtest_tool "$scenario" --url "ws://127.0.0.1:$gw_port/ws" --nats "nats://127.0.0.1:$nats_port" \
  --metrics "http://127.0.0.1:$gw_port/metrics" --server-pid "$gw_pid" --broker-pid "$nats_pid" \
  --json "$out/$scenario.json" "${args[@]}" | tee "$out/$scenario.md"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); results in $out" >&2
stop_servers

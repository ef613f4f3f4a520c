#!/usr/bin/env bash
# Fan-out benchmark: starts nats-server and a Release gateway on free loopback ports, runs the
# `fanout` scenario (1 topic x N subscribers) for each subscriber count and rate, REPEATS times (interleaved so
# background load hits every rate alike), stops what it started by PID and prints the table of
# medians. Every run is bounded: duration + warm-up + drain timeout.
#
# --targets "gateway nats-ws signalr" also runs every configuration against the peers, interleaved
# with the gateway: nats-server's own WebSocket listener (a second nats-server; clients speak the
# NATS protocol) and ASP.NET Core SignalR with the Redis backplane (loadtest/SignalRPeer, fed from
# NATS like the gateway; needs redis-server).
# --scenario topics runs the `topics` scenario instead (each subscriber on its own topic, the rate
# spread over them).
#
#   loadtest/run-fanout.sh [--scenario fanout|topics] [--targets "gateway nats-ws"] [--rates "500 1000 2000"] [--subscribers "1000"] [--repeats 3]
#                          [--duration 10] [--payload 128] [--out DIR] [-- extra LoadTest options]
# GATEWAY_PROFILE=1 swaps in loadtest/GatewayProfiler: allocation samples by type end up in DIR/gateway.log.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=fanout
targets=gateway
rates="500 1000 2000"
subscribers=1000
repeats=3
duration=10
payload=128
out=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --rates) rates="$2"; shift 2 ;;
    --subscribers) subscribers="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --payload) payload="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
out="${out:-$(mktemp -d /tmp/fanout-XXXXXX)}"
mkdir -p "$out"

source loadtest/servers.sh
if [[ " $targets " == *" signalr "* ]]; then export BUILD_SIGNALR_PEER=1; fi
build_release
start_servers "$out"
if [[ " $targets " == *" nats-ws "* ]]; then start_peer_nats_ws "$out"; fi
if [[ " $targets " == *" signalr "* ]]; then start_peer_signalr "$out"; fi
for rep in $(seq 1 "$repeats"); do
  for subs in $subscribers; do
  for rate in $rates; do
  for target in $targets; do
    name="$scenario-$target-s$subs-r$rate-$rep"
    if [[ "$target" == gateway ]]; then
      where=(--url "ws://127.0.0.1:$gw_port/ws" --nats "nats://127.0.0.1:$nats_port"
             --metrics "http://127.0.0.1:$gw_port/metrics" --server-pid "$gw_pid" --broker-pid "$nats_pid"
             ${GATEWAY_PROFILE:+--profiler "http://127.0.0.1:$gw_port/"})
    elif [[ "$target" == signalr ]]; then
      where=(--target signalr --url "ws://127.0.0.1:$sr_port/hub" --nats "nats://127.0.0.1:$nats_port"
             --server-pid "$sr_pid" --broker-pid "$redis_pid")
    else
      where=(--target nats-ws --url "ws://127.0.0.1:$peer_ws_port/" --nats "nats://127.0.0.1:$peer_port" --server-pid "$peer_pid")
    fi
    echo "== run $rep/$repeats: $scenario → $target, $subs subscribers, $rate msg/s, ${duration}s, ${payload} B" >&2
    loadtest_tool "$scenario" "${where[@]}" \
      --subscribers "$subs" --rate "$rate" --duration "$duration" --payload "$payload" \
      --json "$out/$name.json" --label "run $rep" "${extra[@]}" >"$out/$name.txt" \
      || echo "run failed (exit $?): see $out/$name.txt" >&2
    tail -n 1 "$out/$name.txt" >&2
  done
  done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

stop_servers
loadtest_tool report "$out/$scenario"-*.json

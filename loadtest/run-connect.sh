#!/usr/bin/env bash
# Idle-connection benchmark: a fresh nats-server + Release gateway per run (so RSS starts from the
# same baseline), ramps to N idle subscribed connections, holds them, proves them live with one
# message, and reports open rate and server KiB per connection. Clients are spread over 4 loopback
# source addresses so repeated runs don't run out of ephemeral ports (TIME_WAIT).
#
# --targets "gateway nats-ws signalr" measures the peers the same way, each on fresh servers per run
# (nats-server's WebSocket listener; SignalR + Redis, whose KiB/connection counts the SignalR
# process only, not redis-server).
#
#   loadtest/run-connect.sh [--targets gateway] [--connections 19000] [--topics 1] [--repeats 3] [--hold 5] [--out DIR]
# GATEWAY_PROFILE=1: allocation samples by type (whole run, ramp included) land in DIR/N/gateway.log.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/servers.sh

targets=gateway
connections=19000
topics=1
repeats=3
hold=5
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --targets) targets="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --topics) topics="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --hold) hold="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
out="${out:-$(mktemp -d /tmp/connect-XXXXXX)}"
mkdir -p "$out"
if [[ " $targets " == *" signalr "* ]]; then export BUILD_SIGNALR_PEER=1; fi
build_release

for rep in $(seq 1 "$repeats"); do
  for target in $targets; do
    dir="$out/$target-$rep"
    mkdir -p "$dir"
    start_servers "$dir"
    where=(--url "ws://127.0.0.1:$gw_port/ws" --nats "nats://127.0.0.1:$nats_port"
           --metrics "http://127.0.0.1:$gw_port/metrics" --server-pid "$gw_pid")
    if [[ "$target" == nats-ws ]]; then
      start_peer_nats_ws "$dir"
      where=(--target nats-ws --url "ws://127.0.0.1:$peer_ws_port/" --nats "nats://127.0.0.1:$peer_port" --server-pid "$peer_pid")
    elif [[ "$target" == signalr ]]; then
      start_peer_signalr "$dir"
      where=(--target signalr --url "ws://127.0.0.1:$sr_port/hub" --nats "nats://127.0.0.1:$nats_port" --server-pid "$sr_pid")
    fi
    echo "== run $rep/$repeats: $target, $connections idle subscribed connections on $topics topic(s)" >&2
    loadtest_tool connect "${where[@]}" \
      --subscribers "$connections" --topics "$topics" --hold "$hold" --source-addresses 4 --connect-concurrency 64 \
      --json "$out/connect-$target-$rep.json" --label "$target run $rep" | tee "$out/connect-$target-$rep.md"
    stop_servers
    nats_pid=""; gw_pid=""; peer_pid=""; sr_pid=""; redis_pid=""
  done
done

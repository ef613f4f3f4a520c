#!/usr/bin/env bash
# Idle-connection benchmark: a fresh nats-server + Release gateway per run (so RSS starts from the
# same baseline), ramps to N idle subscribed connections, holds them, proves them live with one
# message, and reports open rate and server KiB per connection. Clients are spread over 4 loopback
# source addresses so repeated runs don't run out of ephemeral ports (TIME_WAIT).
#
#   loadtest/run-connect.sh [--connections 19000] [--topics 1] [--repeats 3] [--hold 5] [--out DIR]
# GATEWAY_PROFILE=1: allocation samples by type (whole run, ramp included) land in DIR/N/gateway.log.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/servers.sh

connections=19000
topics=1
repeats=3
hold=5
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
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
build_release

for rep in $(seq 1 "$repeats"); do
  mkdir -p "$out/$rep"
  start_servers "$out/$rep"
  echo "== run $rep/$repeats: $connections idle subscribed connections on $topics topic(s)" >&2
  loadtest_tool connect --url "ws://127.0.0.1:$gw_port/ws" --nats "nats://127.0.0.1:$nats_port" \
    --subscribers "$connections" --topics "$topics" --hold "$hold" --source-addresses 4 --connect-concurrency 64 \
    --metrics "http://127.0.0.1:$gw_port/metrics" --server-pid "$gw_pid" \
    --json "$out/connect-$rep.json" --label "run $rep" | tee "$out/connect-$rep.md"
  stop_servers
  nats_pid=""; gw_pid=""
done

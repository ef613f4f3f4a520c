#!/usr/bin/env bash
# Fan-out benchmark: starts nats-server and a Release gateway on free loopback ports, runs the
# `fanout` scenario (1 topic x N subscribers) for each subscriber count and rate, REPEATS times (interleaved so
# background load hits every rate alike), stops what it started by PID and prints the table of
# medians. Every run is bounded: duration + warm-up + drain timeout.
#
#   loadtest/run-fanout.sh [--rates "500 1000 2000"] [--subscribers "1000"] [--repeats 3]
#                          [--duration 10] [--payload 128] [--out DIR] [-- extra LoadTest options]
set -euo pipefail
cd "$(dirname "$0")/.."

rates="500 1000 2000"
subscribers=1000
repeats=3
duration=10
payload=128
out=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

echo "building (Release)…" >&2
dotnet build -c Release -v q -nologo gateway/src/Gateway/Gateway.csproj >/dev/null
dotnet build -c Release -v q -nologo loadtest/LoadTest/LoadTest.csproj >/dev/null

nats_port=$(free_port); nats_mon=$(free_port); gw_port=$(free_port)
nats_pid=""; gw_pid=""
cleanup() {
  for pid in $gw_pid $nats_pid; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT

nats-server -a 127.0.0.1 -p "$nats_port" -m "$nats_mon" >"$out/nats.log" 2>&1 &
nats_pid=$!
dotnet gateway/src/Gateway/bin/Release/net10.0/Gateway.dll \
  --urls "http://127.0.0.1:$gw_port" --Nats:Url "nats://127.0.0.1:$nats_port" \
  --Logging:LogLevel:Default Warning >"$out/gateway.log" 2>&1 &
gw_pid=$!

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$gw_port/healthz/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$gw_port/healthz/ready" >/dev/null

echo "nats-server pid $nats_pid :$nats_port, gateway pid $gw_pid :$gw_port, results in $out" >&2
echo "cores $(nproc), load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for rep in $(seq 1 "$repeats"); do
  for subs in $subscribers; do
  for rate in $rates; do
    echo "== run $rep/$repeats: $subs subscribers, $rate msg/s, ${duration}s, ${payload} B" >&2
    dotnet loadtest/LoadTest/bin/Release/net10.0/LoadTest.dll fanout \
      --url "ws://127.0.0.1:$gw_port/ws" --nats "nats://127.0.0.1:$nats_port" \
      --subscribers "$subs" --rate "$rate" --duration "$duration" --payload "$payload" \
      --metrics "http://127.0.0.1:$gw_port/metrics" --server-pid "$gw_pid" --broker-pid "$nats_pid" \
      --json "$out/fanout-s$subs-r$rate-$rep.json" --label "run $rep" "${extra[@]}" >"$out/fanout-s$subs-r$rate-$rep.txt" \
      || echo "run failed (exit $?): see $out/fanout-s$subs-r$rate-$rep.txt" >&2
    tail -n 1 "$out/fanout-s$subs-r$rate-$rep.txt" >&2
  done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

dotnet loadtest/LoadTest/bin/Release/net10.0/LoadTest.dll report "$out"/fanout-*.json

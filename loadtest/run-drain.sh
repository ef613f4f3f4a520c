#!/usr/bin/env bash
# The drain benchmark: for each repeat a fresh cluster on free loopback ports — nats-server with
# JetStream (temp store), NODES Release gateway nodes with durable topics (bench.>), ROUTERS
# control-plane replicas as routers — then `LoadTest drain` through every router, then everything
# this script started is stopped by PID (also on failure or Ctrl-C). A table of medians at the end.
#
#   loadtest/run-drain.sh [--repeats 3] [--nodes 3] [--routers 2] [--window-ms 10000]
#                         [--source-addresses 8] [--out DIR] [LoadTest drain options...]
#   loadtest/run-drain.sh --repeats 1 --subscribers 3000 --before 3 --after 3     # a quick one
#
# Each proxied connection holds two sockets in its router, and a process here may open at most
# ~20,000 files: 15,000 clients need 2 routers (~7,500 each). The gateway trusts the routers'
# X-Forwarded-For (Gateway:TrustedProxies 127.0.0.1), so its per-IP limit applies to the clients'
# 127.0.0.x addresses; it is lifted because all of them are this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats=3; nodes=3; routers=2; window_ms=10000; sources=8; out=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeats) repeats="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --routers) routers="$2"; shift 2 ;;
    --window-ms) window_ms="$2"; shift 2 ;;
    --source-addresses) sources="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
for n in "$repeats" "$nodes" "$routers" "$window_ms" "$sources"; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 ]] || { echo "run-drain.sh: --repeats/--nodes/--routers/--window-ms/--source-addresses take positive integers (got '$n')" >&2; exit 2; }
done
(( nodes >= 2 )) || { echo "run-drain.sh: a drain needs at least 2 nodes" >&2; exit 2; }
command -v nats-server >/dev/null || { echo "nats-server is missing (apt-get install -y nats-server)" >&2; exit 2; }
out="${out:-$(mktemp -d /tmp/drain-XXXXXX)}"
mkdir -p "$out"

source loadtest/servers.sh   # free_port, loadtest_tool
echo "building (Release)…" >&2
dotnet build -c Release -v q -nologo gateway/src/Gateway/Gateway.csproj >/dev/null
dotnet build -c Release -v q -nologo control-plane/src/ControlPlane/ControlPlane.csproj >/dev/null
dotnet build -c Release -v q -nologo loadtest/LoadTest/LoadTest.csproj >/dev/null
GATEWAY_DLL=gateway/src/Gateway/bin/Release/net10.0/Gateway.dll
CP_DLL=control-plane/src/ControlPlane/bin/Release/net10.0/ControlPlane.dll

cluster_pids=()   # routers, then nodes, then nats-server: stopped in that order
run_dir=""
stop_pids() {   # TERM, then up to 30 s each (a gateway drains on SIGTERM; no clients are left by now), then KILL
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "pid $pid did not stop on TERM; killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
}
stop_cluster() {
  # Routers and nodes first (nodes deregister through NATS), nats-server last.
  if [[ ${#cluster_pids[@]} -gt 1 ]]; then stop_pids "${cluster_pids[@]:0:${#cluster_pids[@]}-1}"; fi
  if [[ ${#cluster_pids[@]} -gt 0 ]]; then stop_pids "${cluster_pids[@]: -1}"; fi
  cluster_pids=()
  if [[ -n "$run_dir" ]]; then rm -rf "$run_dir/jetstream"; fi
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

cpu_report() {   # "name pid ticks" per cluster process; ticks = utime + stime
  local i pid name
  for i in "${!cluster_pids[@]}"; do
    pid=${cluster_pids[$i]}
    if (( i < routers )); then name="router-$((i + 1))"; elif (( i < routers + nodes )); then name="node-$((i - routers + 1))"; else name=nats-server; fi
    echo "$name $pid $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)"
  done
}

wait_http() {   # URL what
  for _ in $(seq 300); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "$2 did not answer $1 within 30 s" >&2; return 1
}

start_cluster() {
  local dir="$1" nats_port nats_mon port i node_pids=() router_pids=()
  nats_port=$(free_port); nats_mon=$(free_port)
  nats-server -js -a 127.0.0.1 -p "$nats_port" -m "$nats_mon" -sd "$dir/jetstream" >"$dir/nats.log" 2>&1 &
  local nats_pid=$!
  wait_http "http://127.0.0.1:$nats_mon/healthz" nats-server
  nats_url="nats://127.0.0.1:$nats_port"

  node_ports=()
  for ((i = 1; i <= nodes; i++)); do
    port=$(free_port); node_ports+=("$port")
    dotnet "$GATEWAY_DLL" --urls "http://127.0.0.1:$port" --Nats:Url "$nats_url" --Gateway:NodeId "node-$i" \
      --Gateway:TrustedProxies:0 127.0.0.1 --Gateway:Limits:MaxConnectionsPerIp 100000 \
      --Gateway:Durable:Patterns:0 "bench.>" --Gateway:Drain:WindowMs "$window_ms" \
      --Logging:LogLevel:Default Warning >"$dir/node-$i.log" 2>&1 &
    node_pids+=($!)
  done

  router_ports=()
  for ((i = 1; i <= routers; i++)); do
    port=$(free_port); router_ports+=("$port")
    dotnet "$CP_DLL" --urls "http://127.0.0.1:$port" --Nats:Url "$nats_url" \
      --Logging:LogLevel:Default Warning >"$dir/router-$i.log" 2>&1 &
    router_pids+=($!)
  done
  cluster_pids=("${router_pids[@]}" "${node_pids[@]}" "$nats_pid")

  for port in "${node_ports[@]}"; do wait_http "http://127.0.0.1:$port/healthz/ready" "gateway :$port"; done
  for port in "${router_ports[@]}"; do
    wait_http "http://127.0.0.1:$port/healthz/ready" "control plane :$port"
    for _ in $(seq 150); do
      [[ "$(curl -fsS "http://127.0.0.1:$port/api/v1/nodes" | grep -o '"state":"active"' | wc -l)" -ge "$nodes" ]] && break
      sleep 0.2
    done
  done
  echo "nats-server pid $nats_pid :$nats_port; nodes ${node_pids[*]} :${node_ports[*]}; routers ${router_pids[*]} :${router_ports[*]}" >&2
}

status=0
for ((run = 1; run <= repeats; run++)); do
  run_dir="$out/run-$run"; mkdir -p "$run_dir"
  echo "== run $run/$repeats: $(uptime)" >&2
  start_cluster "$run_dir"
  urls=""; for port in "${router_ports[@]}"; do urls+="${urls:+,}ws://127.0.0.1:$port/ws"; done
  cpu_before=$(cpu_report)
  rc=0
  loadtest_tool drain --url "$urls" --nats "$nats_url" --source-addresses "$sources" \
    --label "run $run of $repeats, $nodes nodes, $routers routers, window ${window_ms} ms" \
    --json "$out/drain-$run.json" "${args[@]}" 2>&1 | tee "$run_dir/drain.md" || rc=$?
  [[ $rc -eq 0 ]] || { echo "run $run: LoadTest exited $rc" >&2; status=$rc; }
  # CPU seconds each process used during the tool's run (from /proc, USER_HZ ticks).
  paste <(echo "$cpu_before") <(cpu_report) | awk '{ printf "%-10s pid %-8s %7.2f CPU-s\n", $1, $2, ($6 - $3) / 100 }' | tee "$run_dir/cpu.txt"
  stop_cluster
  echo "load after run $run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done

shopt -s nullglob
results=("$out"/drain-*.json)
if [[ ${#results[@]} -gt 0 ]]; then
  loadtest_tool report "${results[@]}" | tee "$out/summary.md"
fi
echo "results in $out" >&2
exit "$status"

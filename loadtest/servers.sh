# Sourced by the run-*.sh scripts: builds Release, starts nats-server and one gateway on free
# loopback ports, and stops exactly those processes (by PID) on exit.
#   start_servers OUT_DIR [extra gateway settings...]  → sets nats_pid nats_port gw_pid gw_port
#   The per-IP connection limit is lifted: all load comes from a few loopback addresses.
#   GATEWAY_DURABLE=1: nats-server with JetStream and every topic durable on the gateway
#                      (Gateway:Durable:Patterns ">"), to compare durable with plain fan-out.
#   GATEWAY_ARGS="--Key value ...": extra gateway settings (e.g. "--Gateway:RawHandshake false")
#   GATEWAY_ENV="VAR=value ...": environment for the gateway process only (e.g. "DOTNET_gcServer=1")
#   LOADTEST_ENV="VAR=value ...": environment for the load tool only (every target's runs alike)
#   start_peer_nats_ws OUT_DIR → a second nats-server with its WebSocket listener (the peer the
#                                gateway is compared with): peer_pid peer_port peer_ws_port
#   start_peer_signalr OUT_DIR → redis-server + loadtest/SignalRPeer (fed from the gateway's NATS, only
#                                subjects gw.topic.signalr.>, the tool's default topic prefix for --target signalr):
#                                redis_pid sr_pid sr_port

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

build_release() {
  echo "building (Release)…" >&2
  dotnet build -c Release -v q -nologo gateway/src/Gateway/Gateway.csproj >/dev/null
  dotnet build -c Release -v q -nologo loadtest/LoadTest/LoadTest.csproj >/dev/null
  if [[ "${GATEWAY_PROFILE:-0}" == 1 ]]; then dotnet build -c Release -v q -nologo loadtest/GatewayProfiler/GatewayProfiler.csproj >/dev/null; fi
  if [[ "${BUILD_SIGNALR_PEER:-0}" == 1 ]]; then dotnet build -c Release -v q -nologo loadtest/SignalRPeer/SignalRPeer.csproj >/dev/null; fi
}

# GATEWAY_PROFILE=1 runs loadtest/GatewayProfiler (the same gateway plus an allocation sampler whose
# per-type report lands in gateway.log when the gateway stops) instead of the plain gateway.
# GATEWAY_DLL=path/Gateway.dll runs another gateway build (e.g. one built in a git worktree) with
# this checkout's load tool, for an A/B of gateway code alone.
gateway_dll() {
  if [[ -n "${GATEWAY_DLL:-}" ]]; then echo "$GATEWAY_DLL"
  elif [[ "${GATEWAY_PROFILE:-0}" == 1 ]]; then echo loadtest/GatewayProfiler/bin/Release/net10.0/GatewayProfiler.dll
  else echo gateway/src/Gateway/bin/Release/net10.0/Gateway.dll; fi
}

nats_pid=""; gw_pid=""; peer_pid=""; sr_pid=""; redis_pid=""
stop_servers() {
  for pid in $gw_pid $sr_pid $redis_pid $nats_pid $peer_pid; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  done
}

start_servers() {
  local out="$1"; shift
  trap stop_servers EXIT
  nats_port=$(free_port); local nats_mon; nats_mon=$(free_port); gw_port=$(free_port)
  local js=() durable=()
  if [[ "${GATEWAY_DURABLE:-0}" == 1 ]]; then
    js=(-js -sd "$out/jetstream"); durable=(--Gateway:Durable:Patterns:0 ">")
  fi
  nats-server -a 127.0.0.1 -p "$nats_port" -m "$nats_mon" "${js[@]}" >"$out/nats.log" 2>&1 &
  nats_pid=$!
  env ${GATEWAY_ENV:-} dotnet "$(gateway_dll)" \
    --urls "http://127.0.0.1:$gw_port" --Nats:Url "nats://127.0.0.1:$nats_port" \
    --Logging:LogLevel:Default Warning --Gateway:Limits:MaxConnectionsPerIp 100000 \
    "${durable[@]}" ${GATEWAY_ARGS:-} "$@" >"$out/gateway.log" 2>&1 &
  gw_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$gw_port/healthz/ready" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$gw_port/healthz/ready" >/dev/null
  if [[ "${GATEWAY_PROFILE:-0}" == 1 ]]; then curl -fsS -X POST "http://127.0.0.1:$gw_port/profiler/reset" >/dev/null; fi
  echo "nats-server pid $nats_pid :$nats_port, gateway pid $gw_pid :$gw_port, results in $out" >&2
  echo "cores $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}

start_peer_nats_ws() {
  local out="$1"
  trap stop_servers EXIT
  peer_port=$(free_port); peer_ws_port=$(free_port); local mon; mon=$(free_port)
  cat >"$out/nats-ws.conf" <<CONF
listen: 127.0.0.1:$peer_port
http: 127.0.0.1:$mon
websocket { host: 127.0.0.1, port: $peer_ws_port, no_tls: true }
CONF
  nats-server -c "$out/nats-ws.conf" >"$out/nats-ws.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$mon/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$mon/healthz" >/dev/null
  echo "peer nats-server (WebSocket) pid $peer_pid :$peer_port ws :$peer_ws_port" >&2
}

start_peer_signalr() {
  local out="$1"
  trap stop_servers EXIT
  command -v redis-server >/dev/null || { echo "redis-server is missing (apt-get install -y redis-server)" >&2; exit 2; }
  local redis_port; redis_port=$(free_port); sr_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --daemonize no >"$out/redis.log" 2>&1 &
  redis_pid=$!
  dotnet loadtest/SignalRPeer/bin/Release/net10.0/SignalRPeer.dll --urls "http://127.0.0.1:$sr_port" \
    --Redis "127.0.0.1:$redis_port" --Nats:Url "nats://127.0.0.1:$nats_port" --Logging:LogLevel:Default Warning >"$out/signalr.log" 2>&1 &
  sr_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$sr_port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$sr_port/healthz" >/dev/null
  echo "peer SignalR pid $sr_pid :$sr_port, redis pid $redis_pid :$redis_port" >&2
}

loadtest_tool() { env ${LOADTEST_ENV:-} dotnet loadtest/LoadTest/bin/Release/net10.0/LoadTest.dll "$@"; }

#!/usr/bin/env bash
# Fuzzes the client frame parser, JSON payload check, topic rules/matcher, permission coverage and
# the raw WebSocket upgrade-head parser
# (FuzzTarget.cs) with AFL++ and SharpFuzz for a bounded time.
#
#   tests/Gateway.Fuzz/run-fuzz.sh [seconds]        default 60
#
# Installs what is missing (apt: afl++; NuGet: the sharpfuzz dotnet tool), builds Gateway.Fuzz,
# replays the seed corpus and regressions/ uninstrumented, instruments a copy of Gateway.dll, runs
# afl-fuzz for the given seconds, then replays every crash and hang. Exits non-zero if a seed or
# regression fails, if afl-fuzz found a crash, or a hang that reproduces; each failing input is
# printed as base64 with its exception and stack. Work files go to tests/Gateway.Fuzz/out/
# (FUZZ_OUT overrides); findings stay in out/findings/default/{crashes,hangs}/.
set -uo pipefail

seconds=${1:-60}
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
out=${FUZZ_OUT:-$here/out}
tools=${SHARPFUZZ_TOOL_PATH:-$HOME/.cache/gateway-fuzz/tools}
sharpfuzz_version=2.3.0
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

step() { echo "== $*"; }
die() { echo "run-fuzz: $*" >&2; echo "fuzz: 0 passed, 1 failed"; exit 1; }

# ---- tools -------------------------------------------------------------------------------------
if ! command -v afl-fuzz >/dev/null 2>&1; then
  step "installing afl++"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q --no-install-recommends afl++; } >"$out.apt.log" 2>&1 || { cat "$out.apt.log"; die "apt-get install afl++ failed"; }
  rm -f "$out.apt.log"
fi
command -v dotnet >/dev/null 2>&1 || die "the .NET SDK is required"
if [ ! -x "$tools/sharpfuzz" ]; then
  step "installing the sharpfuzz tool $sharpfuzz_version"
  dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$tools" >/dev/null \
    || die "dotnet tool install SharpFuzz.CommandLine failed"
fi

# ---- build: a plain copy for replays, an instrumented copy for afl-fuzz --------------------------
rm -rf "$out/plain" "$out/afl" "$out/findings"
mkdir -p "$out"
step "building Gateway.Fuzz"
dotnet build "$here/Gateway.Fuzz.csproj" -c Release -o "$out/plain" -nologo -v q >"$out/build.log" 2>&1 \
  || { cat "$out/build.log"; die "build failed"; }
cp -r "$out/plain" "$out/afl"
step "instrumenting Gateway.dll (PubSubGateway.Protocol, .Topics, .Security, .Connections)"
"$tools/sharpfuzz" "$out/afl/Gateway.dll" PubSubGateway.Protocol PubSubGateway.Topics PubSubGateway.Security PubSubGateway.Connections \
  || die "sharpfuzz instrumentation failed"

status=0

# ---- deterministic replay of the seeds and the regression cases ---------------------------------
step "replaying corpus/ and regressions/"
dotnet "$out/plain/Gateway.Fuzz.dll" --replay "$here/corpus" "$here/regressions" || status=1

# ---- fuzz ---------------------------------------------------------------------------------------
step "afl-fuzz for ${seconds}s"
export AFL_SKIP_BIN_CHECK=1            # the target is the dotnet host; SharpFuzz speaks the fork-server protocol
export AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_FORKSRV_INIT_TMOUT=${AFL_FORKSRV_INIT_TMOUT:-60000}
export AFL_SKIP_CRASHES=1              # a seed that crashes is reported by the replay above
timeout -k 10 $((seconds + 300)) afl-fuzz -i "$here/corpus" -o "$out/findings" -x "$here/fuzz.dict" -t 5000 -m none -V "$seconds" \
  -- dotnet "$out/afl/Gateway.Fuzz.dll" >"$out/afl.log" 2>&1
afl_status=$?
stats=$out/findings/default/fuzzer_stats
if [ "$afl_status" -ne 0 ] || [ ! -f "$stats" ]; then
  tail -n 40 "$out/afl.log"
  die "afl-fuzz failed (exit $afl_status)"
fi
afl_stat() { sed -n "s/^$1 *: *//p" "$stats" | head -n 1; }
echo "afl-fuzz: run_time=$(afl_stat run_time)s execs_done=$(afl_stat execs_done) execs_per_sec=$(afl_stat execs_per_sec)" \
  "corpus_count=$(afl_stat corpus_count) bitmap_cvg=$(afl_stat bitmap_cvg) saved_crashes=$(afl_stat saved_crashes) saved_hangs=$(afl_stat saved_hangs)"
[ "$(afl_stat execs_done)" -gt 0 ] 2>/dev/null || die "afl-fuzz executed nothing"

# ---- triage -------------------------------------------------------------------------------------
crashes=0
for f in "$out"/findings/default/crashes/id:*; do
  [ -e "$f" ] || continue
  crashes=$((crashes + 1))
  echo "CRASH $(basename "$f")"
  replay=$(timeout 60 dotnet "$out/plain/Gateway.Fuzz.dll" --replay "$f" 2>&1)
  if grep -q '^FAIL ' <<<"$replay"; then
    grep -v -e '^FAIL ' -e '^replay:' <<<"$replay"
  else
    echo "  does not reproduce outside afl-fuzz; input (base64): $(base64 -w0 "$f")"
  fi
done
hangs=0
for f in "$out"/findings/default/hangs/id:*; do
  [ -e "$f" ] || continue
  if timeout 30 dotnet "$out/plain/Gateway.Fuzz.dll" --replay "$f" >/dev/null 2>&1; then
    echo "slow input under load, does not hang alone: $(basename "$f")"
  else
    hangs=$((hangs + 1))
    echo "HANG $(basename "$f")"
    echo "  input (base64): $(base64 -w0 "$f")"
  fi
done
[ "$crashes" -eq 0 ] && [ "$hangs" -eq 0 ] || status=1

echo "fuzz result: $crashes crashes, $hangs hangs in ${seconds}s"
if [ "$status" -eq 0 ]; then echo "fuzz: 1 passed, 0 failed"; else echo "fuzz: 0 passed, 1 failed"; fi
exit "$status"

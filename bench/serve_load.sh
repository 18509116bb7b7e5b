#!/usr/bin/env bash
# Load benchmark of `rapid serve` on one-station-minute requests (synthetic, `rapid synth`), printing
# in one run, against `rapid run` on the same files:
#   (a) saturated throughput (closed loop, 32 clients) in windows/s, and its ratio to rapid run's
#       (windows / annotate wall time of run.json) on the same kind of data: one-station-minute
#       requests against 16×STATIONS station-minutes, and one-station-10-minute requests against
#       STATIONS stations × 10 minutes;
#   (b) p50/p99 latency at half of the saturated request rate (open loop);
#   (c) 4x the saturated rate for 30 s: codes, p99 of 429s and of 200s, peak RSS against (b)'s;
#   (d) SIGTERM under load: requests left unanswered (must be 0) and the exit code (must be 0).
#   bench/serve_load.sh BUILD_DIR [STATIONS] [SECONDS]     e.g. bench/serve_load.sh build 64 20
# The load generator is bench/serve_load_client.cc (built as BUILD_DIR/serve_load_client: one thread,
# asynchronous); it shares the machine with the server, as a client on the same host would.
set -euo pipefail
build=${1:?usage: bench/serve_load.sh BUILD_DIR [STATIONS] [SECONDS]}
stations=${2:-64}
seconds=${3:-20}
rapid="$build/rapid"
work=$(mktemp -d /tmp/rapid-serve-load-XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill -9 "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$rapid" synth --output "$work/archive" --stations "$stations" --duration 1m --rates 100 >/dev/null 2>&1
mkdir -p "$work/bodies"
for d in "$work"/archive/*/*/; do cat "$d"*.mseed >"$work/bodies/$(basename "$d").mseed"; done
bodies=("$work"/bodies/*.mseed)

# rapid run's figures: on more station-minutes of the same kind (a few are too quick to time), and on
# the 10-minute stations the longer requests carry.
"$rapid" synth --output "$work/run-archive" --stations "$((stations * 16))" --duration 1m --rates 100 >/dev/null 2>&1
"$rapid" synth --output "$work/archive10" --stations "$stations" --duration 10m --rates 100 --seed 2 >/dev/null 2>&1
mkdir -p "$work/bodies10"
for d in "$work"/archive10/*/*/; do cat "$d"*.mseed >"$work/bodies10/$(basename "$d").mseed"; done
run_wps() {
  "$rapid" run --input "$1" --output "$work/run" --progress off >/dev/null 2>&1
  python3 -c "import json; j=json.load(open('$work/run/run.json')); print(round(j['windows']/j['stage_s']['annotate_wall'],1))"
  rm -rf "$work/run"
}
run_wps1=$(run_wps "$work/run-archive")
run_wps10=$(run_wps "$work/archive10")

start_server() {
  rm -f "$work/port"
  "$rapid" serve --listen 127.0.0.1:0 --port-file "$work/port" --request-timeout 10s --max-connections 4096 >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do [ -s "$work/port" ] && break; sleep 0.1; done
  port=$(cat "$work/port")
}
load() { "$build/serve_load_client" "$@" --port "$port" --server-pid "$server" "${bodies[@]}"; }
load10() { "$build/serve_load_client" "$@" --port "$port" --server-pid "$server" "$work"/bodies10/*.mseed; }
field() { python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }

start_server
load saturate --seconds 3 --concurrency 32 >/dev/null   # warm
sat=$(load saturate --seconds "$seconds" --concurrency 32)
sat_wps=$(field "$sat" "j['windows_per_s']")
sat_rps=$(field "$sat" "j['requests_per_s']")
echo "(a) saturated, 1-minute requests: $sat_wps windows/s, $sat_rps requests/s; rapid run: $run_wps1 windows/s;" \
     "ratio $(python3 -c "print(round($sat_wps/$run_wps1,2))")  $sat"
half=$(load rate --rate "$(python3 -c "print($sat_rps/2)")" --seconds "$seconds")
echo "(b) half load: 200 p50 $(field "$half" "j['latency_ms']['200']['p50']") ms, p99 $(field "$half" "j['latency_ms']['200']['p99']") ms  $half"
over=$(load rate --rate "$(python3 -c "print($sat_rps*4)")" --seconds 30 --max-connections 2048)
echo "(c) 4x overload 30 s: codes $(field "$over" "j['codes']"), 429 p99 $(field "$over" "j['latency_ms'].get('429',{}).get('p99')") ms," \
     "200 p99 $(field "$over" "j['latency_ms'].get('200',{}).get('p99')") ms, peak RSS $(field "$over" "j['server_peak_rss_bytes']>>20") MiB" \
     "vs half load $(field "$half" "j['server_peak_rss_bytes']>>20") MiB; alive: $(kill -0 "$server" 2>/dev/null && echo yes || echo no)  $over"
drain=$(load drain --rate "$sat_rps" --seconds "$seconds" --signal-after 3)
set +e
wait "$server"
code=$?
set -e
server=""
echo "(d) SIGTERM under load: unanswered $(field "$drain" "j['unanswered']"), codes $(field "$drain" "j['codes']"), exit $code  $drain"
# (a) again with one-station-10-minute requests, on a fresh server (8 clients: 32 would pass the
# default queue limit and measure 429s).
start_server
load10 saturate --seconds 3 --concurrency 8 >/dev/null   # warm
sat10=$(load10 saturate --seconds "$seconds" --concurrency 8)
echo "(a) saturated, 10-minute requests: $(field "$sat10" "j['windows_per_s']") windows/s; rapid run: $run_wps10 windows/s;" \
     "ratio $(python3 -c "print(round($(field "$sat10" "j['windows_per_s']")/$run_wps10,2))")  $sat10"
kill -TERM "$server"
wait "$server" || true
server=""

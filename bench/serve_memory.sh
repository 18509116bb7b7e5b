#!/usr/bin/env bash
# Peak memory of `rapid serve` when CLIENTS clients upload large bodies at once (docs/serve.md,
# "request memory"): each posts the same body, HOURS hours of one 100 Hz station (`rapid synth`,
# about 1.2 MB an hour), all started together. Prints the server's peak RSS (VmHWM), the answers'
# status codes and the largest request memory held; with OTHER_BUILD_DIR (e.g. a build of a commit
# before the request memory existed), the same for its server, in the same sitting.
#   bench/serve_memory.sh [BUILD_DIR] [CLIENTS] [HOURS] [OTHER_BUILD_DIR]   e.g. … build 24 24 /tmp/old/build
set -euo pipefail
build=${1:-build}; clients=${2:-24}; hours=${3:-24}; other=${4:-}
rapid="$build/rapid"
work=$(mktemp -d /tmp/rapid-serve-memory-XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill -9 "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$rapid" synth --output "$work/archive" --stations 1 --duration "${hours}h" --chunk "${hours}h" --rates 100 >/dev/null 2>&1
find "$work/archive" -name '*.mseed' | sort | xargs cat >"$work/body.mseed"
echo "body: $(( $(stat -c %s "$work/body.mseed") / 1048576 )) MiB ($hours h of 3 channels at 100 Hz); $clients clients at once"

one_round() {  # $1: the build directory
  local label=$1
  rm -f "$work/port"
  "$1/rapid" serve --listen 127.0.0.1:0 --port-file "$work/port" --request-timeout 120s >"$work/log" 2>&1 &
  server=$!
  for _ in $(seq 600); do [ -s "$work/port" ] && break; sleep 0.1; done
  local port; port=$(cat "$work/port")
  local held_max=0 pids=()
  for i in $(seq "$clients"); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 -H 'Expect:' --data-binary @"$work/body.mseed" \
      "http://127.0.0.1:$port/v1/models/phasenet/picks" >"$work/code$i" &
    pids+=($!)
  done
  while kill -0 "${pids[@]}" 2>/dev/null; do
    local held; held=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^rapid_request_memory_bytes /{print $2}')
    [ -n "$held" ] && [ "$held" -gt "$held_max" ] && held_max=$held
    sleep 0.2
  done
  wait "${pids[@]}" || true
  local peak; peak=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$server/status")
  kill -TERM "$server"; wait "$server" || true; server=""
  echo "$label: peak RSS $peak MiB; answers: $(sort "$work"/code* | uniq -c | awk '{printf "%s×%s ", $1, $2}');" \
       "request memory held at most $((held_max / 1048576)) MiB; $(grep -o 'request memory [^:]*' "$work/log" || true)"
  rm -f "$work"/code*
}
one_round "$build"
[ -n "$other" ] && one_round "$other"
exit 0

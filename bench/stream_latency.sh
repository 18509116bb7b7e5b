#!/usr/bin/env bash
# Real-time picking benchmark of `rapid stream` on synthetic stations (`rapid synth`, 100 Hz, planted
# P and S arrivals), played as if live with --replay (records handed over at their end times).
# Prints in one run:
#   (a) STATIONS played in real time (--speed 1): pick latency p50/p99 — from the arrival of the
#       record holding the last sample a pick waited for to the pick being written — and CPU use;
#   (b) capacity: the same archive handed over as fast as it can be taken (--speed 100000); the
#       station count that would keep up in real time = STATIONS × data seconds / wall seconds.
#   bench/stream_latency.sh BUILD_DIR [STATIONS] [MINUTES]      e.g. bench/stream_latency.sh build 500 2
set -euo pipefail
build=${1:?usage: bench/stream_latency.sh BUILD_DIR [STATIONS] [MINUTES]}
stations=${2:-500}
minutes=${3:-2}
rapid="$build/rapid"
work=$(mktemp -d /tmp/rapid-stream-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$rapid" synth --output "$work/archive" --stations "$stations" --duration "${minutes}m" --rates 100 >/dev/null 2>&1
cores=$(nproc)

"$rapid" stream --replay "$work/archive" --speed 1 --output "$work/live" >"$work/live.log" 2>&1
latency=$(grep -o 'pick latency p50 [0-9.]* s, p99 [0-9.]* s over [0-9]* picks' "$work/live.log" || echo "no picks while streaming")
cpu=$(grep -o 'CPU [0-9.]* s in [0-9.]* s wall' "$work/live.log" | tail -1)
used=$(python3 -c "import sys; c,w=float(sys.argv[1]),float(sys.argv[2]); print(f'{c/w:.2f}')" $(echo "$cpu" | awk '{print $2, $5}'))
echo "(a) $stations stations × $minutes min at 100 Hz in real time on $cores cores: $latency; $cpu = $used cores busy"

"$rapid" stream --replay "$work/archive" --speed 100000 --output "$work/fast" >"$work/fast.log" 2>&1
wall=$(grep -o 'CPU [0-9.]* s in [0-9.]* s wall' "$work/fast.log" | tail -1 | awk '{print $5}')
python3 -c "
import sys
stations, minutes, wall = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f'(b) capacity: {stations} stations × {minutes:g} min taken in {wall:.1f} s: '
      f'{stations * minutes * 60 / wall:.0f} stations would keep up in real time (target >= 5000)')
" "$stations" "$minutes" "$wall"
grep -h 'records from' "$work/live.log" "$work/fast.log" | sed 's/^/    /'

#!/usr/bin/env bash
# Memory flatness (issue 3): peak RSS of `rapid run` for 20 stations × 1 h vs 20 stations × 24 h
# (100 Hz, 1 h chunks). Target ratio ≤ 1.1. Prints both and the ratio.
#   bench/memory_flatness.sh [BUILD_DIR] [STATIONS]
set -euo pipefail
build=${1:-build}; stations=${2:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A rss
for hours in 1 24; do
  "$build/rapid" synth --output "$work/a$hours" --stations "$stations" --duration "${hours}h" --chunk 1h --rates 100 >/dev/null 2>&1
  "$build/rapid" run --input "$work/a$hours" --output "$work/o$hours" >/dev/null 2>&1 || true
  rss[$hours]=$(python3 -c "import json; r=json.load(open('$work/o$hours/run.json')); print(r['peak_rss_bytes'])")
  python3 -c "import json; r=json.load(open('$work/o$hours/run.json')); print(f'$stations stations x ${hours} h: windows {r[\"windows\"]}, wall {r[\"wall_s\"]:.1f} s, peak RSS {r[\"peak_rss_bytes\"] >> 20} MiB, queue high water {r[\"queue_high_water_bytes\"] >> 20} MiB')"
  rm -rf "$work/a$hours"
done
python3 -c "print(f'ratio 24 h / 1 h peak RSS: {${rss[24]} / ${rss[1]}:.2f} (target <= 1.1)')"

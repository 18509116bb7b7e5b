#!/usr/bin/env bash
# Ceiling ratio (issue 3): end-to-end `rapid run` windows/s on a synthetic archive (default 50 stations
# × 1 h at 100 Hz) divided by the best raw batched-forward windows/s of the same model measured in the
# same run of this script (forward_bench, all shapes). Prints both and the ratio.
#   bench/ceiling_bench.sh [BUILD_DIR] [STATIONS] [DURATION]
set -euo pipefail
build=${1:-build}; stations=${2:-50}; duration=${3:-1h}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/rapid" synth --output "$work/archive" --stations "$stations" --duration "$duration" --rates 100 >/dev/null 2>&1
"$build/rapid" run --input "$work/archive" --output "$work/out" >/dev/null 2>&1 || true
"$build/forward_bench" --benchmark_format=json --benchmark_out="$work/forward.json" >/dev/null 2>&1
python3 - "$work/out/run.json" "$work/forward.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1])); fwd = json.load(open(sys.argv[2]))
best = max(fwd["benchmarks"], key=lambda b: b.get("windows_per_s", 0))
e2e_wall = run["windows"] / run["wall_s"]
e2e_annotate = run["windows"] / run["stage_s"]["annotate_wall"]
print(f"windows {run['windows']}  plan {run['plan']['instances']}x{run['plan']['intra_threads']} batch {run['plan']['batch_size']}")
print(f"raw forward best: {best['windows_per_s']:.0f} windows/s ({best['name']})")
print(f"end-to-end (whole run, reading included): {e2e_wall:.0f} windows/s  ratio {e2e_wall / best['windows_per_s']:.2f}")
print(f"annotate stage only: {e2e_annotate:.0f} windows/s  ratio {e2e_annotate / best['windows_per_s']:.2f}")
print(f"peak RSS {run['peak_rss_bytes'] >> 20} MiB, stage_s {json.dumps({k: round(v, 2) for k, v in run['stage_s'].items()})}")
PY

#!/usr/bin/env bash
# Ceiling ratio (issue 3): end-to-end `rapid run` windows/s on a synthetic archive (default 50 stations
# × 1 h at 100 Hz; RATES "100,200,250,40" gives stations those rates in turn, resampled to the
# model's 100 Hz by the pipeline) divided by the raw batched-forward windows/s of the same model in its best shape.
# Step 1 finds the best shape (forward_bench, every shape). Then the raw forward of that shape and
# the end-to-end run alternate: raw, run, raw, run, …, raw. Each run is compared with the mean of
# the raw measurements just before and just after it, so a drift of this machine's speed (±10 %
# over minutes) during the pair cancels to first order. Prints every round and the median ratio.
#   bench/ceiling_bench.sh [BUILD_DIR] [STATIONS] [DURATION] [ROUNDS] [RATES]
set -euo pipefail
build=${1:-build}; stations=${2:-50}; duration=${3:-1h}; rounds=${4:-3}; rates=${5:-100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/rapid" synth --output "$work/archive" --stations "$stations" --duration "$duration" --rates "$rates" >/dev/null 2>&1
"$build/forward_bench" --benchmark_format=json --benchmark_out="$work/shapes.json" >/dev/null 2>&1
best=$(python3 -c "
import json, sys
b = max(json.load(open(sys.argv[1]))['benchmarks'], key=lambda b: b.get('windows_per_s', 0))
print(b['run_name'])" "$work/shapes.json")
filter="^$(printf '%s' "$best" | sed 's/[.]/[.]/g')\$"
raw_forward() {
  "$build/forward_bench" --benchmark_filter="$filter" --benchmark_min_time=3 --benchmark_format=json \
    --benchmark_out="$work/raw$1.json" >/dev/null 2>&1
}
raw_forward 1
for r in $(seq 1 "$rounds"); do
  "$build/rapid" run --input "$work/archive" --output "$work/out$r" --progress off >/dev/null 2>&1 || true
  raw_forward $((r + 1))
done
python3 - "$work" "$rounds" "$best" <<'PY'
import json, statistics, sys
work, rounds, best = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print(f"raw forward best shape: {best}")
ratios, stage = [], []
for r in range(1, rounds + 1):
    before, after = (json.load(open(f"{work}/raw{k}.json"))["benchmarks"][0]["windows_per_s"] for k in (r, r + 1))
    raw = (before + after) / 2
    run = json.load(open(f"{work}/out{r}/run.json"))
    e2e = run["windows"] / run["wall_s"]
    ann = run["windows"] / run["stage_s"]["annotate_wall"]
    ratios.append(e2e / raw); stage.append(ann / raw)
    plan = run["plan"]
    stages = run["stage_s"]
    print(f"round {r}: raw {raw:.0f} w/s (before {before:.0f}, after {after:.0f}); end-to-end {e2e:.0f} w/s (ratio {e2e / raw:.2f}), annotate stage {ann:.0f} w/s "
          f"({ann / raw:.2f}); {run['windows']} windows, plan {plan['instances']}x{plan['intra_threads']} batch "
          f"{plan['batch_size']}, peak RSS {run['peak_rss_bytes'] >> 20} MiB, backend {run.get('backend', '?')}; stage seconds: "
          f"read {stages['read']:.2f}, preprocess {stages['preprocess']:.2f}, forward {stages['forward']:.2f}, "
          f"stitch {stages['stitch']:.2f}")
print(f"ceiling ratio (median of {rounds} rounds): end-to-end {statistics.median(ratios):.2f}, "
      f"annotate stage {statistics.median(stage):.2f}")
PY

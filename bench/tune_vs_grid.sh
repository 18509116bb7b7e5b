#!/usr/bin/env bash
# The tune's search against the whole grid on this machine (issue 6): a synthetic archive (default
# 50 stations × 10 min at 100 Hz, the tune's default input); `rapid tune` restricted to all CPUs and
# that station count; then every grid point (instances {cores / t} with threads = cores / instances,
# × batch 1 … 256) run ROUNDS times as plain `rapid run`s, in rounds so drift hits every point alike.
# Prints the tune's trials, its choice, and its choice's grid mean against the grid's best mean.
#   bench/tune_vs_grid.sh [BUILD_DIR] [STATIONS] [DURATION] [ROUNDS]
set -euo pipefail
build=${1:-build}; stations=${2:-50}; duration=${3:-10m}; rounds=${4:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/rapid" synth --output "$work/archive" --stations "$stations" --duration "$duration" --rates 100 >/dev/null 2>&1
cores=$(nproc)
start=$(date +%s.%N)
"$build/rapid" tune --input "$work/archive" --output "$work/tune" --stations "$stations" --cpu-counts "$cores" \
  --time-budget 1h 2>"$work/tune.log"
tune_s=$(python3 -c "print($(date +%s.%N) - $start)")
instances=$(python3 -c "
n = $cores
print(' '.join(str(i) for i in sorted({n // t for t in range(1, n + 1)})))")
for r in $(seq 1 "$rounds"); do
  for i in $instances; do
    for b in 1 2 4 8 16 32 64 128 256; do
      "$build/rapid" run --input "$work/archive" --output "$work/grid/$r-$i-$b" --progress off \
        --instances "$i" --intra-threads $((cores / i)) --batch-size "$b" >/dev/null 2>&1 || true
    done
  done
done
python3 - "$work" "$rounds" "$tune_s" <<'PY'
import csv, glob, json, os, statistics, sys
work, rounds, tune_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
trials = list(csv.DictReader(open(f"{work}/tune/trials.csv")))
configs = {(t["instances"], t["threads_per_instance"], t["batch_size"]) for t in trials}
best_toml = open(f"{work}/tune/best.toml").read()
def value(key):
    return next(l.split("=")[1].strip() for l in best_toml.splitlines() if l.startswith(key + " ="))
chosen = (value("instances"), value("intra-threads"), value("batch-size"))
grid = {}
for path in glob.glob(f"{work}/grid/*/run.json"):
    _, i, b = os.path.basename(os.path.dirname(path)).split("-")
    run = json.load(open(path))
    grid.setdefault((i, str(run["plan"]["intra_threads"]), b), []).append(run["windows"] / run["stage_s"]["annotate_wall"])
means = {k: statistics.mean(v) for k, v in grid.items()}
best = max(means, key=means.get)
print(f"tune: {len(trials)} trials ({len(configs)} configurations) in {tune_s:.0f} s; grid: {len(means)} configurations x {rounds}")
print(f"tune's choice {chosen[0]}x{chosen[1]} batch {chosen[2]}: grid mean {means[chosen]:.0f} windows/s")
print(f"grid's best   {best[0]}x{best[1]} batch {best[2]}: grid mean {means[best]:.0f} windows/s")
print(f"tune's choice / grid optimum = {means[chosen] / means[best]:.3f}; configurations measured: "
      f"{len(configs)} of {len(means)} ({len(configs) / len(means):.0%})")
for k in sorted(means, key=means.get, reverse=True)[:6]:
    print(f"  {k[0]}x{k[1]} batch {k[2]:>3}: {means[k]:.0f} windows/s  ({', '.join(f'{v:.0f}' for v in grid[k])})")
PY

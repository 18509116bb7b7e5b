#!/usr/bin/env bash
# MPI scaling of `rapid run` on this machine, then a model of larger jobs (docs/cluster.md).
#   bench/mpi_scaling.sh BUILD_DIR [STATIONS] [DURATION]      e.g. bench/mpi_scaling.sh build 24 60m
# Runs the same synthetic archive (`rapid synth`, PhaseNet, 100 Hz) as one process and under
# mpirun with 2 and 3 ranks (rank 0 coordinates; each worker takes its share of the cores:
# --bind-to none leaves the sharing to rapid, docs/cluster.md), and
# prints windows/s, the workers' start-up and the coordinator's messages/s and service time; then
# bench/mpi_sim.py checks its model against the 2- and 3-rank runs and predicts the efficiency at
# 10, 100 and 1,000 ranks for 1,000 station-days.
set -euo pipefail
build=${1:?usage: bench/mpi_scaling.sh BUILD_DIR [STATIONS] [DURATION]}
stations=${2:-24}
duration=${3:-60m}
rapid="$(cd "$build" && pwd)/rapid"
here="$(cd "$(dirname "$0")" && pwd)"
work=$(mktemp -d /tmp/rapid-mpi-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI and this machine run as root

"$rapid" synth --output "$work/archive" --stations "$stations" --duration "$duration" --chunk 30m --rates 100 >/dev/null 2>&1
cores=$(nproc)
echo "archive: $stations stations × $duration at 100 Hz; $cores cores"
printf "%-22s %8s %10s %12s %14s %16s\n" run wall_s windows windows/s startup_s coordinator
for ranks in 1 2 3; do
  out="$work/r$ranks"
  if [ "$ranks" = 1 ]; then
    "$rapid" run --input "$work/archive" --output "$out" --batch-size 16 --progress off >"$out.log" 2>&1
  else
    mpirun --oversubscribe --bind-to none -np "$ranks" "$rapid" run --input "$work/archive" --output "$out" --batch-size 16 \
      --progress off >"$out.log" 2>&1
  fi
  python3 - "$out/run.json" "$ranks" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ranks = r.get("ranks", [])
startup = "%.2f" % (sum(k["startup_s"] for k in ranks) / len(ranks)) if ranks else "-"
c = r.get("coordinator")
coord = "%.0f msg/s, %.0f us" % (c["messages"] / r["wall_s"], 1e6 * c["busy_s"] / max(1, c["messages"])) if c else "-"
name = "1 process" if sys.argv[2] == "1" else "%s ranks (%d workers)" % (sys.argv[2], len(ranks))
print("%-22s %8.2f %10d %12.0f %14s %16s" % (name, r["wall_s"], r["windows"], r["windows"] / r["wall_s"], startup, coord))
PY
done
echo
echo "model vs measured (picking span of the workers):"
python3 "$here/mpi_sim.py" --validate "$work/r1/run.json" "$work/r2/run.json" "$work/r3/run.json"
echo
python3 "$here/mpi_sim.py" --predict "$work/r3/run.json"

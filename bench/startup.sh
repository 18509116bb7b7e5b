#!/usr/bin/env bash
# Start-up and short runs, whole process (issue 20): `rapid --version`, and `rapid run` on a
# synthetic archive of STATIONS × DURATION at 100 Hz (default 50 × 1 min, the bundled layout
# scaled up with rapid synth) on each CPU backend, run alternately in one go so the medians compare.
# Prints the median wall time of each and the peak RSS of the runs (wait4 ru_maxrss).
#   bench/startup.sh [BUILD_DIR] [STATIONS] [DURATION] [ROUNDS]
set -euo pipefail
build=${1:-build}; stations=${2:-50}; duration=${3:-1m}; rounds=${4:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/rapid" synth --output "$work/archive" --stations "$stations" --duration "$duration" --rates 100 >/dev/null 2>&1
python3 - "$build/rapid" "$work" "$rounds" <<'PY'
import os, statistics, subprocess, sys, time
rapid, work, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])

def timed(args):
    start = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(args)}")
    return wall, usage.ru_maxrss * 1024

version = [timed([rapid, "--version"]) for _ in range(max(20, rounds))]
runs = {"onednn": [], "torch": []}
for r in range(rounds):
    for backend in runs:
        out = f"{work}/out-{backend}-{r}"
        runs[backend].append(timed([rapid, "run", "--input", f"{work}/archive", "--output", out,
                                    "--progress", "off", "--backend", backend]))
mib = lambda b: b / 2**20
print(f"rapid --version: median {statistics.median(w for w, _ in version) * 1e3:.1f} ms, "
      f"peak RSS {mib(max(m for _, m in version)):.0f} MiB ({len(version)} runs)")
for backend, rs in runs.items():
    print(f"rapid run --backend {backend}: median {statistics.median(w for w, _ in rs):.3f} s, "
          f"peak RSS {mib(max(m for _, m in rs)):.0f} MiB ({rounds} runs)")
on, to = (statistics.median(w for w, _ in runs[b]) for b in ("onednn", "torch"))
print(f"whole process, torch / onednn: {to / on:.2f}x")
PY

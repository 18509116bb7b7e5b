#!/usr/bin/env bash
# Memory cap (issue 5): a synthetic archive whose samples alone (float32) are >= 10x --max-ram is
# picked with peak RSS under the cap — first under the cap alone, then also under a real kernel limit:
# a cgroup-v1 memory cgroup (memory.limit_in_bytes = the cap + 64 MiB slack for the kernel's own
# accounting of page cache; the process is OOM-killed if it exceeds it). Needs root and a writable
# /sys/fs/cgroup/memory; without one the kernel-limit part is skipped and says so.
#   bench/memory_cap.sh [BUILD_DIR] [STATIONS=20] [HOURS=24] [CAP=320M] [RATES=100]
# (the cap must hold the model loaded: about 212 MiB of RSS for PhaseNet, plus 64 MiB reserved;
# with RATES that need Fourier resampling, e.g. 40, also what the planner reserves for it, run.json
# plan.preprocess_bytes: a cap without room for it is refused before any work, which is the point)
set -euo pipefail
build=$(realpath "${1:-build}"); stations=${2:-20}; hours=${3:-24}; cap=${4:-320M}; rates=${5:-100}
work=$(mktemp -d)
cg=/sys/fs/cgroup/memory/rapid-memory-cap-$$
trap 'rm -rf "$work"; [[ -d $cg ]] && rmdir "$cg" 2>/dev/null || true' EXIT
"$build/rapid" synth --output "$work/a" --stations "$stations" --duration "${hours}h" --chunk 1h --rates "$rates" >/dev/null 2>&1
cap_bytes=$(python3 -c "s='$cap'; u={'K':1<<10,'M':1<<20,'G':1<<30}; print(int(float(s[:-1])*u[s[-1]]) if s[-1] in u else int(s))")
naive=$((stations * hours * 3600 * 100 * 3 * 4))
python3 -c "print(f'archive: $stations stations x $hours h x 3 ch at $rates Hz, resampled to 100 Hz: {$naive/2**30:.2f} GiB of float32 samples = {$naive/$cap_bytes:.1f} x --max-ram $cap')"
report() {
  if [[ ! -f $1/run.json ]]; then echo "$2: exit $3, no run.json; rapid run said: $(grep -m1 "error" "$1.err")"; return; fi
  python3 -c "import json; r=json.load(open('$1/run.json')); print(f'$2: exit $3, units {r[\"units_done\"]}/{r[\"units_total\"]}, windows {r[\"windows\"]}, wall {r[\"wall_s\"]:.0f} s, peak RSS {r[\"peak_rss_bytes\"]/2**20:.0f} MiB (cap {$cap_bytes/2**20:.0f} MiB; preprocessing reserve {r[\"plan\"][\"preprocess_bytes\"]/2**20:.0f} MiB), under cap: {r[\"peak_rss_bytes\"] < $cap_bytes}')"
}
set +e
"$build/rapid" run --input "$work/a" --output "$work/o1" --max-ram "$cap" --progress off >"$work/o1.err" 2>&1; code=$?
set -e
report "$work/o1" "--max-ram $cap" "$code"
if mkdir "$cg" 2>/dev/null; then
  echo $((cap_bytes + (64 << 20))) > "$cg/memory.limit_in_bytes"
  set +e
  bash -c "echo \$\$ > $cg/cgroup.procs; exec '$build/rapid' run --input '$work/a' --output '$work/o2' --max-ram '$cap' --progress off" >"$work/o2.err" 2>&1
  code=$?
  set -e
  report "$work/o2" "in a memory cgroup limited to cap + 64 MiB" "$code"
  echo "cgroup: max usage $(( $(cat "$cg/memory.max_usage_in_bytes") >> 20 )) MiB (page cache included), limit hits (failcnt) $(cat "$cg/memory.failcnt"), $(grep oom_kill "$cg/memory.oom_control" || echo 'oom_kill n/a')"
else
  echo "kernel limit: skipped (no writable /sys/fs/cgroup/memory; run as root on a cgroup-v1 host)"
fi

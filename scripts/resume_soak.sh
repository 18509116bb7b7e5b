#!/usr/bin/env bash
# Kill-and-resume soak: runs `rapid run` over a synthetic archive, SIGKILLs it at random moments
# (seeded), resumes until it finishes, and checks picks.csv equals an uninterrupted run's, TRIALS
# times. The test suite's ResumeTest does 3 such trials; this does many.
#   scripts/resume_soak.sh [BUILD=build] [TRIALS=20] [SEED=1] [STATIONS=40]
set -euo pipefail
build=${1:-build}
trials=${2:-20}
seed=${3:-1}
stations=${4:-40}
rapid="$build/rapid"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$rapid" synth --output "$work/archive" --stations "$stations" --duration 20m --rates 100,200,250 > /dev/null
start=$(date +%s%N)
"$rapid" run --input "$work/archive" --output "$work/full" --progress off > /dev/null 2>&1
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
RANDOM=$seed
kills=0
for trial in $(seq 1 "$trials"); do
  out="$work/trial$trial"
  while true; do
    args=(run --input "$work/archive" --output "$out" --progress off)
    [[ -f "$out/journal.jsonl" ]] && args+=(--resume)
    "$rapid" "${args[@]}" > /dev/null 2>&1 &
    pid=$!
    delay_ms=$(( RANDOM % (full_ms + 1) ))
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
    if wait "$pid"; then break; fi
    [[ -f "$out/picks.csv" && ! -f "$out/journal.jsonl" ]] && break  # finished just before the kill
  done
  if ! cmp -s "$work/full/picks.csv" "$out/picks.csv"; then
    echo "trial $trial: picks differ from the uninterrupted run" >&2
    exit 1
  fi
done
echo "resume soak: $trials trials, $kills kills, uninterrupted run ${full_ms} ms: picks identical every time"

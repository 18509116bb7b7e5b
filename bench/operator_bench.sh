#!/usr/bin/env bash
# Operator case and scaling (issue 3): wall time from process start to exit of `rapid run` for the
# bundled 12-station minute and for synthetic 228- and 580-station minutes in the chunk layout with
# mixed 100/200/250 Hz stations, and windows/s on one core vs all cores. Prints one table.
#   bench/operator_bench.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
rapid="$build/rapid"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'r': r}))" "$@"; }
wall() {  # seconds from process start to exit
  local start end
  start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}

"$rapid" synth --output "$work/s228" --stations 228 --duration 1m --chunk 1m --rates 100,200,250 >/dev/null 2>&1
"$rapid" synth --output "$work/s580" --stations 580 --duration 1m --chunk 1m --rates 100,200,250 >/dev/null 2>&1

printf "%-32s %8s %8s %10s %12s\n" case wall_s windows win_per_s peak_rss_MiB
for case in bundled:"" s228:"$work/s228" s580:"$work/s580"; do
  name=${case%%:*}; input=${case#*:}
  args=(run --output "$work/out-$name")
  [ -n "$input" ] && args+=(--input "$input")
  w=$(wall "$rapid" "${args[@]}")
  printf "%-32s %8s %8s %10s %12s\n" "$name (process start to exit)" "$w" \
    "$(field "$work/out-$name/run.json" "r['windows']")" \
    "$(field "$work/out-$name/run.json" "round(r['windows'] / r['stage_s']['annotate_wall'])")" \
    "$(field "$work/out-$name/run.json" "r['peak_rss_bytes'] >> 20")"
done

"$rapid" synth --output "$work/scale" --stations 20 --duration 10m --rates 100 >/dev/null 2>&1
for cpus in 0 "0-$(($(nproc) - 1))"; do
  "$rapid" run --input "$work/scale" --output "$work/out-scale" --cpus "$cpus" >/dev/null 2>&1
  printf "%-32s %8s %8s %10s %12s\n" "scaling --cpus $cpus" "$(field "$work/out-scale/run.json" "round(r['wall_s'], 2)")" \
    "$(field "$work/out-scale/run.json" "r['windows']")" \
    "$(field "$work/out-scale/run.json" "round(r['windows'] / r['stage_s']['annotate_wall'])")" \
    "$(field "$work/out-scale/run.json" "r['peak_rss_bytes'] >> 20")"
done

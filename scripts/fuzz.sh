#!/usr/bin/env bash
# Fuzzes the miniSEED decode + merge path (fuzz/mseed_fuzz.cc) — or, with FUZZ_TARGET=serve_request_fuzz,
# rapid serve's request path (fuzz/serve_request_fuzz.cc), or with FUZZ_TARGET=seedlink_packet_fuzz
# the SeedLink packet framing rapid stream reads (fuzz/seedlink_packet_fuzz.cc) — for SECONDS with libFuzzer.
#   scripts/fuzz.sh SECONDS          e.g. scripts/fuzz.sh 600
#   FUZZ_TARGET=serve_request_fuzz scripts/fuzz.sh 600
# Builds with clang (-DRAPID_FUZZ=ON: libFuzzer + ASan + UBSan, no libtorch) in build-fuzz/, seeds
# the corpus from the bundled miniSEED files (and ../shared/data when present), runs FUZZ_JOBS
# (default 2) fuzzing processes in libFuzzer's fork mode, and prints executions, coverage and
# crashes. The corpus grows across runs in build-fuzz/corpus; crash, leak and timeout inputs land in
# build-fuzz/artifacts/. Exit status: 0 no crash, 1 crashes found, 2 usage or build error.
# Environment: FUZZ_JOBS (1 or 2), FUZZ_MAX_LEN (bytes per input, default 16384: two 4096-byte or
# thirty-two 512-byte records, enough for the merge paths while keeping executions fast).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh SECONDS" >&2
  exit 2
fi
seconds=$1
jobs=${FUZZ_JOBS:-2}
max_len=${FUZZ_MAX_LEN:-16384}
if [ "$jobs" != 1 ] && [ "$jobs" != 2 ]; then
  echo "fuzz.sh: FUZZ_JOBS must be 1 or 2 (got $jobs)" >&2
  exit 2
fi
bash scripts/install-deps.sh --fuzz

target=${FUZZ_TARGET:-mseed_fuzz}
if [ "$target" != mseed_fuzz ] && [ "$target" != serve_request_fuzz ] && [ "$target" != seedlink_packet_fuzz ]; then
  echo "fuzz.sh: FUZZ_TARGET must be mseed_fuzz, serve_request_fuzz or seedlink_packet_fuzz (got $target)" >&2
  exit 2
fi
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -DRAPID_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target "$target" >/dev/null
fuzzer="$build/fuzz/$target"

# Seeds: every bundled miniSEED file, refreshed on each run (names made unique by their path).
seeds="$build/seeds"
rm -rf "$seeds"
corpus="$build/corpus"
[ "$target" = serve_request_fuzz ] && corpus="$build/corpus-serve"
[ "$target" = seedlink_packet_fuzz ] && corpus="$build/corpus-seedlink"
mkdir -p "$seeds" "$corpus" "$build/artifacts"
seed_dirs=(data/texnet-sample tests/data/mseed-corpus tests/data/fuzz)
[ -d ../shared/data ] && seed_dirs+=(../shared/data)
while IFS= read -r -d '' f; do
  name=${f#../}
  cp "$f" "$seeds/${name//\//_}"
done < <(find "${seed_dirs[@]}" -type f ! -name '*.md' ! -name '*.txt' ! -name '*.json' ! -name '*.csv' -print0)
if [ "$target" = serve_request_fuzz ]; then
  # Each miniSEED seed (its first 8 KiB) becomes the body of a picks request; plus bare requests.
  for f in "$seeds"/*; do
    head -c 8192 "$f" >"$f.body"
    { printf 'POST /v1/models/phasenet/picks?P_threshold=0.5&S_threshold=0.2 HTTP/1.1\r\nHost: x\r\n'
      printf 'Content-Type: application/vnd.fdsn.mseed\r\nContent-Length: %d\r\n\r\n' "$(stat -c %s "$f.body")"
      cat "$f.body"; } >"$f"
    rm -f "$f.body"
  done
  printf 'GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n' >"$seeds/get_models"
  printf 'POST /v1/models/phasenet/annotate?format=json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n' >"$seeds/chunked"
fi
if [ "$target" = seedlink_packet_fuzz ]; then
  # Each miniSEED seed's first two 512-byte pieces as 3.1 packets (first byte 0) and as 4.0 packets
  # (first byte 1), then END.
  python3 - "$seeds" <<'PY'
import os, struct, sys
d = sys.argv[1]
for name in os.listdir(d):
    path = os.path.join(d, name)
    data = open(path, 'rb').read()
    recs = [data[i:i + 512] for i in (0, 512) if len(data) >= i + 512]
    v3 = b'\x00' + b''.join(b'SL%06X' % (k + 1) + r for k, r in enumerate(recs)) + b'END'
    v4 = b'\x01' + b''.join(b'SE2D' + struct.pack('<IQB', len(r), k + 1, 7) + b'TX_PB35' + r for k, r in enumerate(recs)) + b'END'
    open(path, 'wb').write(v3)
    open(path + '.v4', 'wb').write(v4)
PY
fi
echo "fuzz.sh: $(ls "$seeds" | wc -l) seed files from ${seed_dirs[*]}; $(ls "$corpus" | wc -l) corpus files" \
     "from earlier runs; $jobs jobs for ${seconds}s, inputs up to $max_len bytes"

crashes_before=$(find "$build/artifacts" -type f | wc -l)
log="$build/fuzz.log"
start=$(date +%s)
# Fork mode: the parent merges what the jobs find and keeps going after a crash (-ignore_crashes).
set +e
"$fuzzer" -fork="$jobs" -ignore_crashes=1 -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
  -rss_limit_mb=2048 -print_funcs=0 -artifact_prefix="$build/artifacts/" "$corpus" "$seeds" >"$log" 2>&1 &
pid=$!
ticks=0
while kill -0 "$pid" 2>/dev/null; do  # progress every 30 s
  sleep 1
  ticks=$((ticks + 1))
  if [ $((ticks % 30)) -eq 0 ]; then
    line=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
    [ -n "$line" ] && echo "  $line"
  fi
done
wait "$pid"
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))

last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
if [ -z "$last" ]; then
  echo "fuzz.sh: the fuzzer printed no progress (exit $rc); see $log" >&2
  tail -20 "$log" >&2
  exit 2
fi
execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
cov=$(sed -E 's/.* cov: ([0-9]+) .*/\1/' <<<"$last")
ft=$(sed -E 's/.* ft: ([0-9]+) .*/\1/' <<<"$last")
crash_counts=$(sed -E 's#.*oom/timeout/crash: ([0-9/]+).*#\1#' <<<"$last")
new_artifacts=$(find "$build/artifacts" -type f -newer "$seeds" | sort)
echo "fuzz.sh: ${elapsed}s, $jobs jobs, executions $execs ($(( execs / (elapsed > 0 ? elapsed : 1) )) exec/s)," \
     "cov $cov, ft $ft, corpus $(ls "$corpus" | wc -l) files ($(du -sh "$corpus" | cut -f1))," \
     "oom/timeout/crash $crash_counts"
if [ -n "$new_artifacts" ]; then
  echo "fuzz.sh: new crash inputs (reproduce with $fuzzer FILE):"
  sed 's/^/  /' <<<"$new_artifacts"
  exit 1
fi
echo "fuzz.sh: no crashes ($crashes_before inputs from earlier runs in $build/artifacts)"

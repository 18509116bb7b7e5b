#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer (-DRAPID_SANITIZE=ON, g++) in
# build-asan/ and runs the whole test suite (ctest) under them.
#   scripts/sanitize.sh            JOBS=1 scripts/sanitize.sh   (default 2 parallel jobs)
# Any ASan report, UB (-fno-sanitize-recover) or leak fails the test that caused it. libtorch and
# the other system libraries are not instrumented; the few reports they cause are suppressed in
# scripts/sanitizer-suppressions/ (each with its reason). Exit status: ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${JOBS:-2}
build=build-asan

bash scripts/install-deps.sh --torch
start=$(date +%s)
# -O1 -g1: ASan's recommended optimisation with line tables for the reports; no NDEBUG, so the
# asserts run too. Benchmarks are not part of the suite.
cmake -S . -B "$build" -DRAPID_SANITIZE=ON -DRAPID_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
cmake --build "$build" -j "$jobs"
built=$(date +%s)

supp="$root/scripts/sanitizer-suppressions"
export ASAN_OPTIONS="detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1:abort_on_error=1:print_suppressions=0"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
set +e
(cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 1800)
rc=$?
set -e
end=$(date +%s)
echo "sanitize.sh: configure + build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s;" \
     "ctest exit $rc"
exit $rc

#!/usr/bin/env bash
# Installs RAPID's build and test dependencies from Debian 12 packages.
#   scripts/install-deps.sh          what rapid needs to build and run on the CPU (oneDNN backend)
#   scripts/install-deps.sh --torch  and libtorch: the torch backend (--backend torch, CUDA, the
#                                    models not yet on oneDNN) and the tests (also scripts/sanitize.sh:
#                                    g++ brings libasan8 and libubsan1)
#   scripts/install-deps.sh --fuzz   and clang with libFuzzer, for scripts/fuzz.sh
# Idempotent and non-interactive; runs as root (uses sudo only when not root).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libdnnl-dev           # oneDNN: the CPU backend (src/backends/onednn)
  libmseed-dev          # miniSEED 2 decoding and encoding
  libzip-dev            # the zip container of torch.save weight files, read without libtorch
  nlohmann-json3-dev    # run.json, weight metadata JSON
  libcli11-dev          # command-line parsing
  libspdlog-dev         # logging to stderr
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libssl-dev            # SHA-256 of weight files (libcrypto)
  libboost-dev          # Boost.Beast/Asio (header-only): rapid serve's HTTP
  openmpi-bin libopenmpi-dev  # MPI: mpirun -np N rapid run (docs/cluster.md)
  libcurl4-openssl-dev  # HTTP(S) client of rapid fetch (FDSN web services)
  python3               # compare_picks helper in tests
  libxml2-utils         # xmllint: QuakeML output validated and read back in tests
  chromium              # headless browser: the rapid report page is rendered and checked in a test
)

torch_packages=(
  libtorch-dev          # the torch backend (CPU build of libtorch 1.13)
  libopenblas0-openmp   # optimised BLAS behind libtorch's libblas.so.3 (Debian's default is the
                        # reference BLAS: PhaseNet forward 615 → 1541 windows/s, one thread); the
                        # OpenMP build follows libtorch's per-thread intra-op thread count
)

for arg in "$@"; do
  case "$arg" in
    --torch) packages+=("${torch_packages[@]}") ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;  # clang 14 and its libFuzzer runtime
    *) echo "install-deps: unknown option $arg (--torch, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

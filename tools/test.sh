#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root) to a verdict:
#   1. tools/setup.sh: packages, real MNIST, Release build in build/
#   2. onnxruntime-node (npm, test-only) for the ONNX export tests: tools/onnxruntime/install.sh
#   3. ctest over build/ (unit, gradient checks, golden, end-to-end on real MNIST)
#   4. a short libFuzzer run (clang, ASan+UBSan) over the snapshot reader and its seed corpus
#   5. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/,
#      minus the long real-data trainings (FLOWRT_SKIP_SANITIZER=1 skips this stage)
# Exits non-zero if any stage fails. `.ci/run` calls exactly this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${FLOWRT_TEST_JOBS:-2}"

# Each stage's wall time, for the closing line (CI's budget is counted in these).
TIMES=()
stage() {
  local name=$1 start=$SECONDS
  shift
  echo "[test] == $name"
  "$@"
  TIMES+=("$name $((SECONDS - start))s")
}

stage setup bash tools/setup.sh
stage onnxruntime bash tools/onnxruntime/install.sh
stage ctest ctest --test-dir build --output-on-failure -j "$JOBS"
stage fuzz bash tools/fuzz.sh "${FLOWRT_FUZZ_SECONDS:-30}"

if [[ "${FLOWRT_SKIP_SANITIZER:-0}" != 1 ]]; then
  stage asan-build bash tools/setup.sh --no-packages --build-dir build-asan -- \
    -DFLOWRT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
  # Real-data trainings take minutes under the sanitizers; the Release run above covers them.
  stage asan-ctest env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$JOBS" -LE real_mnist
fi
echo "[test] stage times: ${TIMES[*]}"

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs snapshot_fuzzer,
# then image_fuzzer (flowrt predict's PNG/PGM decoders, seeds in tests/fuzz/image_corpus/), each
# for N seconds (default 60) over its committed seed corpus, on 1 worker:
#   tools/fuzz.sh [seconds]
# New inputs found go to build-fuzz/corpus-snapshot/ (not committed; merge interesting ones into
# tests/fuzz/corpus/ with `snapshot_fuzzer -merge=1 tests/fuzz/corpus build-fuzz/corpus-snapshot`).
# A crash leaves its input as build-fuzz/crash-* and makes this script exit non-zero.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_TO_RUN="${1:-60}"
BUILD="${FLOWRT_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
JOBS="${FLOWRT_FUZZ_JOBS:-2}"

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DFLOWRT_FUZZ=ON -DFLOWRT_BUILD_TESTS=OFF >/dev/null
if ! ninja -C "$BUILD" -t query snapshot_fuzzer >/dev/null 2>&1; then
  echo "fuzz.sh: no snapshot_fuzzer target; add 'add_subdirectory(tests/fuzz)' to CMakeLists.txt" >&2
  exit 2
fi
ninja -j "$JOBS" -C "$BUILD" snapshot_fuzzer image_fuzzer

mkdir -p "$BUILD/corpus-snapshot" "$BUILD/corpus-image"
cd "$BUILD"
# New inputs go to the first corpus dir; the committed seeds are read only.
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  ./tests/fuzz/snapshot_fuzzer -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=20 \
  -rss_limit_mb=2048 -print_final_stats=1 \
  "$BUILD/corpus-snapshot" "$ROOT/tests/fuzz/corpus"
# Images: -malloc_limit_mb makes any single allocation above 64 MiB a crash (dimensions are capped
# before decoding, so none may happen).
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  ./tests/fuzz/image_fuzzer -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=20 \
  -rss_limit_mb=2048 -malloc_limit_mb=64 -print_final_stats=1 \
  "$BUILD/corpus-image" "$ROOT/tests/fuzz/image_corpus"

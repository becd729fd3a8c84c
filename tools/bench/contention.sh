#!/bin/bash
# Usage: tools/bench/contention.sh [--rounds=N] [--iters=N] [--hog_cpu=K] [--out=FILE] [--log=FILE]
#
# Issue 15: is the training step steady when a neighbour is busy? Per round, every row runs
# quiet and then beside a CPU hog that this script starts and stops itself: one busy loop
# (`while :; do :; done`) pinned with taskset to CPU --hog_cpu (default: the last one). Rows:
# LeNet and the MLP (batch 100), flowrt at 1 and 2 threads and PyTorch at 2 threads, plus flowrt
# at 2 threads with libgomp's default spin-wait (GOMP_SPINCOUNT=300000, what flowrt's programs ran
# with before runtime/openmp_wait_policy.h); the order alternates per round. Then
# tools/bench/contention_report.py writes the table (median ms per row, the spread of the
# per-round medians, % of the FMA peak, hog/quiet) to RESULTS.md's contention section. Needs a
# built train_step_bench ($FLOWRT_BENCH_BIN, default build/tools/bench/train_step_bench) and
# /usr/bin/python3 with torch (tools/bench/run.sh installs both). "Quiet" means no hog of ours:
# the load average of other processes is logged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH="${FLOWRT_BENCH_BIN:-$ROOT/build/tools/bench/train_step_bench}"
PY=/usr/bin/python3
ROUNDS=3
ITERS=20
HOG_CPU=$(($(nproc) - 1))
OUT="$ROOT/tools/bench/RESULTS.md"
LOG=""
for arg in "$@"; do
  case "$arg" in
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --iters=*) ITERS="${arg#*=}" ;;
    --hog_cpu=*) HOG_CPU="${arg#*=}" ;;
    --out=*) OUT="${arg#*=}" ;;
    --log=*) LOG="${arg#*=}" ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "contention.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$BENCH" ] || { echo "contention.sh: no train_step_bench at $BENCH" >&2; exit 1; }
LOG="${LOG:-$ROOT/build/contention_$(date +%Y%m%d_%H%M%S).log}"
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

HOG=""
stop_hog() { if [ -n "$HOG" ]; then kill "$HOG" 2>/dev/null || true; wait "$HOG" 2>/dev/null || true; HOG=""; fi; }
trap stop_hog EXIT
start_hog() { taskset -c "$HOG_CPU" bash -c 'while :; do :; done' & HOG=$!; sleep 0.5; }

# run HOG ROUND VARIANT CMD...: appends CMD's RESULT line, tagged, to the log.
run() {
  local hog="$1" round="$2" variant="$3"; shift 3
  local line
  line=$("$@" | grep '^RESULT' | tail -1) || { echo "contention.sh: failed: $*" >&2; exit 1; }
  echo "$line hog=$hog round=$round variant=$variant load=$(cut -d' ' -f1 /proc/loadavg)" >>"$LOG"
  echo "  hog=$hog variant=$variant ${line%% times_ms=*}"
}

{
  echo "MACHINE cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1) | cores=$(nproc)" \
       "| family=$(lscpu | sed -n 's/^CPU family: *//p') model=$(lscpu | sed -n 's/^Model: *//p')" \
       "| avx512f=$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
  echo "SOFTWARE torch=$($PY -c 'import torch; print(torch.__version__)')" \
       "| flowrt=$(git -C "$ROOT" rev-parse --short HEAD) | hog_cpu=$HOG_CPU"
  echo "UPTIME_START $(uptime)"
} >>"$LOG"

echo "== FMA peak probe"
run off 0 - "$BENCH" --mode=probe --threads=1 --probe_seconds=0.3
for round in $(seq 1 "$ROUNDS"); do
  for hog in off on; do
    echo "== round $round/$ROUNDS, hog $hog"
    [ "$hog" = on ] && start_hog
    for model in lenet mlp; do
      steps=(--mode=step --model=$model --batch=100 --warmup=5 --iters="$ITERS")
      flowrt=("$BENCH" "${steps[@]}")
      torch=($PY "$ROOT/tools/bench/train_step_bench.py" "${steps[@]}" --threads=2)
      spin=(env GOMP_SPINCOUNT=300000 "${flowrt[@]}" --threads=2)
      if [ $((round % 2)) -eq 1 ]; then
        run $hog $round - "${flowrt[@]}" --threads=1; run $hog $round - "${flowrt[@]}" --threads=2
        run $hog $round - "${torch[@]}"; run $hog $round spin "${spin[@]}"
      else
        run $hog $round spin "${spin[@]}"; run $hog $round - "${torch[@]}"
        run $hog $round - "${flowrt[@]}" --threads=2; run $hog $round - "${flowrt[@]}" --threads=1
      fi
    done
    stop_hog
  done
done
echo "UPTIME_END $(uptime)" >>"$LOG"

$PY "$ROOT/tools/bench/contention_report.py" --log="$LOG" --out="$OUT" \
  --command="tools/bench/contention.sh $*"
echo "== log: $LOG"
echo "== results: $OUT"

#!/bin/bash
# Usage: tools/bench/contention.sh [--rounds=N] [--iters=N] [--hog_cpu=K] [--startup_threads=T]
#                                  [--no_passive] [--startup_only] [--out=FILE] [--log=FILE]
#
# Issue 15's one run: is the training step steady when a neighbour is busy, how close is it to the
# FMA roofline, and how long does a training program take to start? After the FMA probe, per
# round: the start-up of LeNet and the MLP, flowrt and PyTorch (exec to the end of the first step
# on real MNIST, --mode=startup, quiet), then every step row quiet and beside a CPU hog that this
# script starts and stops itself: one busy loop (`while :; do :; done`) pinned with taskset to CPU
# --hog_cpu (default: the last one). Step rows: LeNet and the MLP (batch 100), flowrt and PyTorch
# at 1 and 2 threads, plus flowrt at 2 threads waiting passively (OMP_WAIT_POLICY=passive,
# flowrt's default before its bounded spin, runtime/openmp_wait_policy.h; --no_passive skips it)
# and flowrt at 2 threads with its thread governor (--adapt_threads, runtime/thread_governor.h,
# flowrt's default; 54 more warm-up steps: a window unpinned (6 steps), one pinned (16), the
# probes of chunks-only and of 1 thread (16 each)), and flowrt at
# 2 threads bound to the cores (OMP_PROC_BIND=true), without and with the governor (README: on a
# shared machine); the order alternates per round. Each round beside the hog also measures how
# the kernel shares the hog's CPU (--mode=slices: the bursts a thread runs there and the gaps it
# waits). Last, flowrt's per-op profile of LeNet at 1 and 2 threads, quiet, and of its default
# beside the hog (--startup_only skips the step rows and the profiles).
# tools/bench/contention_report.py then rewrites RESULTS.md's issue-15 section:
# median ms per row, the spread of the per-round medians, % of the FMA peak, hog/quiet, the
# start-up table, and the issue's targets as met/missed with their distance. Needs a built
# train_step_bench ($FLOWRT_BENCH_BIN, default build/tools/bench/train_step_bench), MNIST in
# data/mnist and /usr/bin/python3 with torch and numpy (tools/bench/run.sh installs them).
# "Quiet" means no hog of ours: the load average of other processes is logged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH="${FLOWRT_BENCH_BIN:-$ROOT/build/tools/bench/train_step_bench}"
PY=/usr/bin/python3
ROUNDS=3
ITERS=20
HOG_CPU=$(($(nproc) - 1))
STARTUP_THREADS=1
PASSIVE=1
STEPS=1
DATA="$ROOT/data/mnist"
OUT="$ROOT/tools/bench/RESULTS.md"
LOG=""
for arg in "$@"; do
  case "$arg" in
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --iters=*) ITERS="${arg#*=}" ;;
    --hog_cpu=*) HOG_CPU="${arg#*=}" ;;
    --startup_threads=*) STARTUP_THREADS="${arg#*=}" ;;
    --no_passive) PASSIVE=0 ;;
    --startup_only) STEPS=0 ;;
    --out=*) OUT="${arg#*=}" ;;
    --log=*) LOG="${arg#*=}" ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "contention.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$BENCH" ] || { echo "contention.sh: no train_step_bench at $BENCH" >&2; exit 1; }
[ -f "$DATA/train-images-idx3-ubyte" ] || [ -f "$DATA/train-images-idx3-ubyte.gz" ] ||
  { echo "contention.sh: no MNIST in $DATA (bash tools/setup.sh fetches it)" >&2; exit 1; }
LOG="${LOG:-$ROOT/build/contention_$(date +%Y%m%d_%H%M%S).log}"
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

HOG=""
stop_hog() { if [ -n "$HOG" ]; then kill "$HOG" 2>/dev/null || true; wait "$HOG" 2>/dev/null || true; HOG=""; fi; }
trap stop_hog EXIT
start_hog() { taskset -c "$HOG_CPU" bash -c 'while :; do :; done' & HOG=$!; sleep 0.5; }

# run HOG ROUND VARIANT CMD...: appends CMD's RESULT line, tagged, to the log. CMD is exec'd from
# a subshell that stamps FLOWRT_BENCH_EXEC_TIME (bash's $EPOCHREALTIME) just before the exec: the
# start-up rows count from there, the dynamic loader and Python's imports included.
run() {
  local hog="$1" round="$2" variant="$3"; shift 3
  local line
  line=$( (export FLOWRT_BENCH_EXEC_TIME=$EPOCHREALTIME; exec "$@") | grep '^RESULT' | tail -1) ||
    { echo "contention.sh: failed: $*" >&2; exit 1; }
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
  echo "== round $round/$ROUNDS, start-up"
  for model in lenet mlp; do
    start=(--mode=startup --model=$model --threads="$STARTUP_THREADS" --data="$DATA")
    flowrt=("$BENCH" "${start[@]}")
    torch=($PY "$ROOT/tools/bench/train_step_bench.py" "${start[@]}")
    if [ $((round % 2)) -eq 1 ]; then
      run off $round - "${flowrt[@]}"; run off $round - "${torch[@]}"
    else
      run off $round - "${torch[@]}"; run off $round - "${flowrt[@]}"
    fi
  done
  [ "$STEPS" = 1 ] || continue
  for hog in off on; do
    echo "== round $round/$ROUNDS, hog $hog"
    if [ "$hog" = on ]; then
      start_hog
      # How the kernel shares the hog's CPU: the bursts and gaps a thread of ours gets there.
      run on $round - "$BENCH" --mode=slices --slice_cpu="$HOG_CPU" --probe_seconds=1
    fi
    for model in lenet mlp; do
      steps=(--mode=step --model=$model --batch=100 --warmup=5 --iters="$ITERS" --data="$DATA")
      torch=($PY "$ROOT/tools/bench/train_step_bench.py" "${steps[@]}")
      rows=(flowrt1 flowrt2 torch1 torch2 adaptive bound bound_adaptive)
      [ "$PASSIVE" = 1 ] && rows+=(passive)
      n=${#rows[@]}
      for k in $(seq 0 $((n - 1))); do
        i=$k; [ $((round % 2)) -eq 0 ] && i=$((n - 1 - k))  # even rounds: the reverse order
        case ${rows[$i]} in
          flowrt1) run $hog $round - "$BENCH" "${steps[@]}" --threads=1 ;;
          flowrt2) run $hog $round - "$BENCH" "${steps[@]}" --threads=2 ;;
          torch1) run $hog $round - "${torch[@]}" --threads=1 ;;
          torch2) run $hog $round - "${torch[@]}" --threads=2 ;;
          adaptive) run $hog $round adaptive "$BENCH" "${steps[@]/--warmup=5/--warmup=59}" \
                      --threads=2 --adapt_threads ;;
          bound) run $hog $round bound env OMP_PROC_BIND=true "$BENCH" "${steps[@]}" \
                   --threads=2 ;;
          bound_adaptive) run $hog $round bound_adaptive env OMP_PROC_BIND=true "$BENCH" \
                            "${steps[@]/--warmup=5/--warmup=59}" --threads=2 --adapt_threads ;;
          passive) run $hog $round passive env OMP_WAIT_POLICY=passive "$BENCH" "${steps[@]}" \
                     --threads=2 ;;
        esac
      done
    done
    stop_hog
  done
done
[ "$STEPS" = 1 ] && echo "== flowrt per-op profile, LeNet, quiet"
for threads in $([ "$STEPS" = 1 ] && echo 1 2); do
  echo "PROFILE_BEGIN" >>"$LOG"
  echo "-- LeNet, $threads thread(s), batch 100: $(basename "$BENCH") --mode=step --model=lenet" \
       "--threads=$threads --iters=$ITERS --profile" >>"$LOG"
  "$BENCH" --mode=step --model=lenet --threads=$threads --batch=100 --warmup=5 --iters="$ITERS" \
    --data="$DATA" --profile | grep -v '^RESULT' >>"$LOG"
  echo "PROFILE_END" >>"$LOG"
done
if [ "$STEPS" = 1 ]; then  # the hog targets' profile: flowrt's default beside the hog
  echo "== flowrt per-op profile, LeNet, beside the hog"
  start_hog
  echo "PROFILE_BEGIN" >>"$LOG"
  echo "-- LeNet, 2 threads, flowrt's default (governor), beside the hog on CPU $HOG_CPU:" \
       "$(basename "$BENCH") --mode=step --model=lenet --threads=2 --adapt_threads --warmup=59" \
       "--iters=$ITERS --profile" >>"$LOG"
  "$BENCH" --mode=step --model=lenet --threads=2 --adapt_threads --batch=100 --warmup=59 \
    --iters="$ITERS" --data="$DATA" --profile | grep -v '^RESULT' >>"$LOG"
  echo "PROFILE_END" >>"$LOG"
  stop_hog
fi
echo "UPTIME_END $(uptime)" >>"$LOG"

$PY "$ROOT/tools/bench/contention_report.py" --log="$LOG" --out="$OUT" \
  --command="tools/bench/contention.sh $*"
echo "== log: $LOG"
echo "== results: $OUT"

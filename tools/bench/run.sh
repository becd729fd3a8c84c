#!/bin/bash
# Usage: tools/bench/run.sh [--quick] [--rounds=N] [--no-epoch] [--out=FILE] [--log=FILE]
#
# flowrt vs PyTorch training-step benchmark (issue 6), one command on a fresh Debian machine:
#   1. installs the peer if missing: python3-torch and libopenblas0-openmp (apt-get; sudo if not
#      root), so PyTorch's BLAS is OpenBLAS, not the reference BLAS;
#   2. builds flowrt Release with the benchmark in $BUILD_DIR (default build-bench; $JOBS, default
#      2, parallel jobs) -- or uses $FLOWRT_BENCH_BIN if set to a built train_step_bench;
#   3. measures the FMA peak (train_step_bench --mode=probe, 1 and 2 threads);
#   4. for each round, for each row (LeNet, MLP) x (1, 2 threads) x (batch 100, 1000), runs flowrt
#      and PyTorch back to back, alternating which goes first, so machine drift hits both; then
#      one MNIST epoch of LeNet at 2 threads per framework per round (data loading included);
#   5. one per-op profile of flowrt's LeNet step (2 threads, batch 100);
#   6. writes the table, the commands and the machine line to tools/bench/RESULTS.md (--out).
# Every run also records how much CPU *other* processes used while it ran (machine busy time from
# /proc/stat minus the run's own CPU time, divided by its wall time); report.py marks rows where
# that exceeds 0.3 cores as noisy. --quick: 1 round, few steps, no epoch (a smoke run, as in CI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
JOBS="${JOBS:-2}"
ROUNDS=3
QUICK=0
EPOCH=1
OUT="$ROOT/tools/bench/RESULTS.md"
LOG=""
PY=/usr/bin/python3
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1; ROUNDS=1; EPOCH=0 ;;
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --no-epoch) EPOCH=0 ;;
    --out=*) OUT="${arg#*=}" ;;
    --log=*) LOG="${arg#*=}" ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
LOG="${LOG:-$BUILD_DIR/bench_$(date +%Y%m%d_%H%M%S).log}"

# ---- 1. the peer ----
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
$PY -c "import torch" 2>/dev/null || missing+=(python3-torch)
dpkg -s libopenblas0-openmp >/dev/null 2>&1 || missing+=(libopenblas0-openmp)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---- 2. flowrt, Release ----
if [ -n "${FLOWRT_BENCH_BIN:-}" ]; then
  BENCH="$FLOWRT_BENCH_BIN"
else
  echo "== building flowrt (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLOWRT_BUILD_TESTS=OFF >/dev/null
  if ! ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep -q '^train_step_bench:'; then
    echo "run.sh: no train_step_bench target: tools/CMakeLists.txt needs add_subdirectory(bench)" >&2
    exit 1
  fi
  ninja -C "$BUILD_DIR" -j"$JOBS" train_step_bench
  BENCH="$(find "$BUILD_DIR" -name train_step_bench -type f -perm -u+x | head -1)"
fi
[ -x "$BENCH" ] || { echo "run.sh: no benchmark binary at '$BENCH'" >&2; exit 1; }
DATA="$ROOT/data/mnist"
if [ "$EPOCH" -eq 1 ] && [ ! -f "$DATA/train-images-idx3-ubyte" ]; then
  echo "run.sh: no MNIST at $DATA (tools/setup.sh fetches it); skipping the epoch rows" >&2
  EPOCH=0
fi
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

# ---- machine ----
{
  echo "MACHINE cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1) | cores=$(nproc)" \
       "| family=$(lscpu | sed -n 's/^CPU family: *//p') model=$(lscpu | sed -n 's/^Model: *//p')" \
       "| avx512f=$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)" \
       "| mem=$(free -g | awk '/Mem:/{print $2}')G | kernel=$(uname -r)"
  echo "SOFTWARE torch=$($PY -c 'import torch; print(torch.__version__)')" \
       "| blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)" \
       "| compiler=$(c++ --version | head -1) | flowrt=$(git -C "$ROOT" rev-parse --short HEAD)"
  echo "UPTIME_START $(uptime)"
} >>"$LOG"

busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
now() { date +%s.%N; }

# run LABEL CMD...: runs CMD, appends its RESULT line with the others' CPU use to the log.
run() {
  local label="$1"; shift
  local b0 t0 b1 t1 line
  b0=$(busy_jiffies); t0=$(now)
  line=$("$@" | grep '^RESULT' | tail -1) || { echo "run.sh: failed: $*" >&2; exit 1; }
  b1=$(busy_jiffies); t1=$(now)
  local cpu="${line##*cpu_s=}"; cpu="${cpu%% *}"
  local others
  others=$(awk -v b="$((b1 - b0))" -v hz="$(getconf CLK_TCK)" -v c="$cpu" -v w="$t0" -v e="$t1" \
           'BEGIN { x = (b / hz - c) / (e - w); if (x < 0) x = 0; printf "%.2f", x }')
  echo "$line round=$label others_load=$others wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" >>"$LOG"
  echo "  ${line%% times_ms=*} others_load=$others"
}

echo "== FMA peak probe"
for t in 1 2; do run probe "$BENCH" --mode=probe --threads=$t; done

if [ "$QUICK" -eq 1 ]; then STEPS_SMALL="--warmup=2 --iters=5"; STEPS_BIG="--warmup=1 --iters=2"
else STEPS_SMALL="--warmup=5 --iters=20"; STEPS_BIG="--warmup=2 --iters=6"; fi

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round/$ROUNDS: steps"
  for model in lenet mlp; do
    for threads in 1 2; do
      for batch in 100 1000; do
        steps="$STEPS_SMALL"; [ "$batch" -eq 1000 ] && steps="$STEPS_BIG"
        args=(--mode=step --model=$model --threads=$threads --batch=$batch $steps)
        if [ $((round % 2)) -eq 1 ]; then
          run "$round" "$BENCH" "${args[@]}"; run "$round" $PY "$ROOT/tools/bench/train_step_bench.py" "${args[@]}"
        else
          run "$round" $PY "$ROOT/tools/bench/train_step_bench.py" "${args[@]}"; run "$round" "$BENCH" "${args[@]}"
        fi
      done
    done
  done
  if [ "$EPOCH" -eq 1 ]; then
    echo "== round $round/$ROUNDS: LeNet MNIST epoch, 2 threads"
    args=(--mode=epoch --model=lenet --threads=2 --data="$DATA")
    if [ $((round % 2)) -eq 1 ]; then
      run "$round" "$BENCH" "${args[@]}"; run "$round" $PY "$ROOT/tools/bench/train_step_bench.py" "${args[@]}"
    else
      run "$round" $PY "$ROOT/tools/bench/train_step_bench.py" "${args[@]}"; run "$round" "$BENCH" "${args[@]}"
    fi
  fi
done

echo "== flowrt per-op profile (LeNet, 2 threads, batch 100)"
{
  echo "PROFILE_BEGIN"
  "$BENCH" --mode=step --model=lenet --threads=2 --batch=100 --warmup=3 --iters=10 --profile | grep -v '^RESULT'
  echo "PROFILE_END"
  echo "UPTIME_END $(uptime)"
} >>"$LOG"

$PY "$ROOT/tools/bench/report.py" --log="$LOG" --out="$OUT" \
  --command="tools/bench/run.sh $*" --bench="$BENCH"
echo "== log: $LOG"
echo "== results: $OUT"

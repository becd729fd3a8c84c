#!/usr/bin/env bash
# Data-parallel LeNet on real MNIST (issue 13): flowrt train under mpirun against one process, run
# back to back in one invocation, rounds interleaved so machine drift hits every row alike.
#
#   bash tools/bench/mpi_bench.sh [ROUNDS=3] [STEPS=60]      (from the repo root, after a build)
#
# Rows (LeNet, SGD momentum 0.9, dropout 0.5, no evaluation):
#   1r x 1t  b100  vs  2r x 1t  b200   equal per-rank batch: the data-parallel speed-up
#   1r x 2t  b200  vs  2r x 1t  b200   equal global batch: two processes vs two OpenMP threads
#   2r x 1t  b200 with FLOWRT_BUCKET_BYTES = 256 KiB, 1 MiB (default), 4 MiB, 1 GiB (one bucket,
#   started after the last gradient: nothing overlaps, so its wait is the whole all-reduce)
# images/s is the median of flowrt's metrics rows (every 10 steps, the first one, warm-up,
# dropped); "wait" is rank 0's time blocked in allreduce_wait as a share of training time;
# images/CPU-s is explained at run() below.
set -euo pipefail
ROUNDS=${1:-3}
STEPS=${2:-60}
FLOWRT=${FLOWRT:-build/tools/flowrt}
DATA=${DATA:-data/mnist}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
MPIRUN=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
        mpirun --oversubscribe --bind-to none --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
TRAIN=(train --job=lenet --data="$DATA" --momentum=0.9 --dropout=0.5 --noevaluate --log_every=10)

# launch RANKS THREADS BATCH BUCKET STEPS CSV LOG: one training run; prints its CPU seconds
# (user + sys of every rank: mpirun reaps its ranks, so bash's `time` counts them).
launch() {
  local ranks=$1 threads=$2 batch=$3 bucket=$4 steps=$5 csv=$6 log=$7
  local TIMEFORMAT='%U %S'
  local cpu
  cpu=$( { time {
    if [[ $ranks -eq 1 ]]; then
      OMP_NUM_THREADS=$threads "$FLOWRT" "${TRAIN[@]}" --steps="$steps" --threads="$threads" \
        --batch_size="$batch" --metrics="$csv" >"$log" 2>&1
    else
      local export=()
      [[ -n $bucket ]] && export=(-x "FLOWRT_BUCKET_BYTES=$bucket")
      "${MPIRUN[@]}" "${export[@]}" -np "$ranks" "$FLOWRT" "${TRAIN[@]}" --steps="$steps" \
        --threads="$threads" --batch_size="$batch" --metrics="$csv" >"$log" 2>&1
    fi
  } ; } 2>&1 )
  echo "$cpu" | awk '{ print $1 + $2 }'
}

# run LABEL RANKS THREADS BATCH [BUCKET_BYTES]: prints images/s (wall, under the machine's load),
# rank 0's wait share, and images per CPU-second of the training steps alone (a 1-step run's CPU,
# start-up, subtracted), which the load does not change: on an idle machine a run that keeps
# both cores busy does about 2x that many images/s.
run() {
  local label=$1 ranks=$2 threads=$3 batch=$4 bucket=${5:-}
  local csv="$OUT/$label.csv" log="$OUT/$label.log"
  rm -f "$csv" "$OUT/start.csv"
  local cpu1 cpu
  cpu1=$(launch "$ranks" "$threads" "$batch" "$bucket" 1 "$OUT/start.csv" "$OUT/start.log")
  cpu=$(launch "$ranks" "$threads" "$batch" "$bucket" "$STEPS" "$csv" "$log")
  local ips wait ipc
  ips=$(tail -n +3 "$csv" | cut -d, -f5 | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  wait=$(grep -o '([0-9.]*%) for gradient' "$log" | tr -d '(%)' | awk '{ print $1 }' || true)
  ipc=$(awk -v a="$cpu" -v b="$cpu1" -v n="$STEPS" -v batch="$batch" \
    'BEGIN { printf "%.0f", (n - 1) * batch / (a - b) }')
  printf '%-20s %6.0f images/s  wait %5s%%  %5s images/CPU-s\n' "$label" "$ips" "${wait:--}" "$ipc"
}

echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores," \
     "load $(cut -d' ' -f1-3 /proc/loadavg), flowrt $(git rev-parse --short HEAD 2>/dev/null)"
for round in $(seq "$ROUNDS"); do
  echo "## round $round"
  run 1rx1t_b100 1 1 100
  run 2rx1t_b200 2 1 200
  run 1rx2t_b200 1 2 200
  run 2rx1t_b200_256k 2 1 200 262144
  run 2rx1t_b200_4m 2 1 200 4194304
  run 2rx1t_b200_1bucket 2 1 200 1073741824
done

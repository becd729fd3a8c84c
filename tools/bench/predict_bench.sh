#!/usr/bin/env bash
# Inference side by side in one run: flowrt's Predictor (predict_bench) and PyTorch eager
# (predict_bench.py), LeNet and MLP: batch-1 p50/p99 (1 thread), batch-100 images/s, 4 threads on
# one predictor/model, and 4 separate single-caller processes (their calls/s summed).
# onnxruntime is not here yet: flowrt has no ONNX export (issue 14, part 3, not done).
# Usage: bash tools/bench/predict_bench.sh [BUILD_DIR]   (after building target predict_bench)
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
lscpu | grep -E 'Model name|^CPU\(s\)'
uptime
for model in lenet mlp; do
  "$build/tools/bench/predict_bench" --model=$model --callers=4
  OMP_NUM_THREADS=1 /usr/bin/python3 "$here/predict_bench.py" --model=$model --callers=4
  for engine in flowrt pytorch; do
    tmp=$(mktemp -d)
    for i in 1 2 3 4; do
      if [ $engine = flowrt ]; then
        "$build/tools/bench/predict_bench" --model=$model --callers=1 >"$tmp/$i" &
      else
        OMP_NUM_THREADS=1 /usr/bin/python3 "$here/predict_bench.py" --model=$model --callers=1 \
          >"$tmp/$i" &
      fi
    done
    wait
    sum=$(sed -n 's/.*multi_calls_per_s=\([0-9]*\).*/\1/p' "$tmp"/* | paste -sd+ | bc)
    echo "RESULT engine=$engine model=$model processes=4 total_calls_per_s=$sum"
    rm -rf "$tmp"
  done
done

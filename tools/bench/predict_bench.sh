#!/usr/bin/env bash
# Inference side by side in one run, LeNet and MLP (logits, initial weights, 1 thread):
#   flowrt's Predictor (predict_bench), onnxruntime on the model flowrt exports
#   (predict_bench_ort.js), PyTorch eager under torch.inference_mode() (predict_bench.py):
#   batch-1 p50/p99 over --calls after warm-up (wall, and the p50 of each call's CPU time, which a
#   loaded machine does not inflate), batch-100 images/s, then the batch-1 p50 ratios;
#   and 4 threads on one predictor/model against 4 separate single-caller processes.
# Each engine runs ROUNDS times (default 3), interleaved, so a loaded machine hits all alike.
# Usage: bash tools/bench/predict_bench.sh [BUILD_DIR]
#   (after building target predict_bench and bash tools/onnxruntime/install.sh)
set -euo pipefail
build=${1:-build}
rounds=${ROUNDS:-3}
here=$(cd "$(dirname "$0")" && pwd)
lscpu | grep -E 'Model name|^CPU\(s\)|^Flags' | sed 's/^Flags:.*\(avx512f\).*/ISA: has AVX-512/;s/^Flags:.*/ISA: AVX2 (no AVX-512)/'
uptime
bash "$here/../onnxruntime/install.sh" >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# A one-Identity model: node's fixed per-call cost around onnxruntime (predict_bench_ort.js).
/usr/bin/python3 -c "
import sys, onnx, onnx.helper as h
x, y = (h.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1, 10]) for n in 'xy')
graph = h.make_graph([h.make_node('Identity', ['x'], ['y'])], 'noop', [x], [y])
onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid('', 13)]), sys.argv[1])" "$out/noop.onnx"
for model in lenet mlp; do
  for round in $(seq "$rounds"); do
    "$build/tools/bench/predict_bench" --model=$model --callers=4 --onnx="$out/$model.onnx" |
      tee -a "$out/results"
    node "$here/predict_bench_ort.js" --model=$model --onnx="$out/$model.onnx" \
      --noop="$out/noop.onnx" | tee -a "$out/results"
    OMP_NUM_THREADS=1 /usr/bin/python3 "$here/predict_bench.py" --model=$model --callers=4 |
      tee -a "$out/results"
  done
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
# Medians over the rounds of each engine's batch-1 p50, wall and CPU time (the thread's, or node's
# process's), and flowrt's ratios to the others; also onnxruntime less node's no-op call (its
# engine alone, an estimate) and flowrt's ratio to that.
awk '/^RESULT/ && /b1_p50_us/ {
  for (i = 2; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
  e = f["engine"]; add(f["model"] " wall " e, f["b1_p50_us"]); add(f["model"] " cpu " e, f["b1_cpu_p50_us"])
  if (e == "onnxruntime") {
    add(f["model"] " wall noop", f["noop_p50_us"]); add(f["model"] " cpu noop", f["noop_cpu_p50_us"])
  }
}
function add(key, value) { n[key]++; v[key, n[key]] = value }
function median(key,   i, j, t, m) {
  m = n[key]
  for (i = 1; i <= m; ++i) for (j = i + 1; j <= m; ++j)
    if (v[key, j] < v[key, i]) { t = v[key, i]; v[key, i] = v[key, j]; v[key, j] = t }
  return v[key, int((m + 1) / 2)]
}
END {
  split("lenet mlp", models, " "); split("wall cpu", clocks, " ")
  for (k = 1; k <= 2; ++k) for (c = 1; c <= 2; ++c) {
    m = models[k] " " clocks[c]
    a = median(m " flowrt"); o = median(m " onnxruntime"); p = median(m " pytorch"); z = median(m " noop")
    printf "SUMMARY model=%s b1_p50_us flowrt=%.1f onnxruntime=%.1f pytorch=%.1f " \
           "flowrt/onnxruntime=%.2f flowrt/pytorch=%.2f node_noop=%.1f " \
           "flowrt/(onnxruntime-noop)=%.2f\n", m, a, o, p, a / o, a / p, z, a / (o - z)
  }
}' "$out/results"

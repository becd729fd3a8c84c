// onnxruntime mirror of tools/bench/predict_bench.cc, on flowrt's exported model
// (predict_bench --onnx=FILE writes it: the same initial weights, softmax probabilities out).
//   node tools/bench/predict_bench_ort.js --model=lenet --onnx=lenet.onnx --calls=2000
// onnxruntime-node comes from tools/onnxruntime (bash tools/onnxruntime/install.sh; test and
// benchmark only). Session options are onnxruntime's fastest for one CPU thread: every graph
// optimization (constant folding, Conv+Relu / Gemm+Relu fusion, layout transforms), sequential
// execution, 1 intra-op and 1 inter-op thread, memory arena and pattern planning on. Times are
// taken inside node around `await session.run` (the call a node service makes), so process
// start and model load are excluded; they include node's binding (N-API call, tensor wrapping,
// a promise). --noop=FILE (a one-Identity model on a (1, 10) float input, predict_bench.sh makes
// it) measures that fixed per-call cost the same way: noop_p50_us. onnxruntime's own profiler
// (enableProfiling) writes nothing from onnxruntime-node 1.20, so this is the separation. Input: predict_bench.cc's pseudo-random images in [0, 1).
// Prints one "RESULT key=value ..." line.
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require(path.join(__dirname, '../onnxruntime/node_modules/onnxruntime-node'));

function flag(name, fallback) {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : arg.slice(name.length + 3);
}

// The LCG of predict_bench.cc's Images().
function images(n) {
  const out = new Float32Array(n * 784);
  let state = 12345;
  for (let i = 0; i < out.length; ++i) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state >>> 8) / 16777216;
  }
  return new ort.Tensor('float32', out, [n, 1, 28, 28]);
}

const kFastest = {
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  enableCpuMemArena: true,
  enableMemPattern: true,
};

// Sorted wall µs and CPU µs (the process's user + system: node's thread and the intra-op one) of
// `calls` runs of `session` on `feeds` after 200 warm-up runs.
async function sortedTimes(session, feeds, calls) {
  for (let i = 0; i < 200; ++i) await session.run(feeds);
  const us = [], cpu = [];
  for (let i = 0; i < calls; ++i) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    await session.run(feeds);
    const c = process.cpuUsage(c0);
    cpu.push(c.user + c.system);
    us.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return {us: us.sort((a, b) => a - b), cpu: cpu.sort((a, b) => a - b)};
}

const percentile = (sorted, q) => sorted[Math.floor(q * (sorted.length - 1))];

async function main() {
  const model = flag('model', 'lenet'), onnx = flag('onnx', '');
  const calls = Number(flag('calls', 2000)), batchIters = Number(flag('batch_iters', 50));
  const session = await ort.InferenceSession.create(onnx, kFastest);
  const input = session.inputNames[0];
  const one = {[input]: images(1)}, hundred = {[input]: images(100)};
  const {us, cpu} = await sortedTimes(session, one, calls);
  for (let i = 0; i < 5; ++i) await session.run(hundred);
  const b0 = process.hrtime.bigint();
  for (let i = 0; i < batchIters; ++i) await session.run(hundred);
  const b100 = (100 * batchIters) / (Number(process.hrtime.bigint() - b0) / 1e9);
  let noop = NaN, noopCpu = NaN;
  if (flag('noop', '') !== '') {
    const empty = await ort.InferenceSession.create(flag('noop', ''), kFastest);
    const feeds = {[empty.inputNames[0]]: new ort.Tensor('float32', new Float32Array(10), [1, 10])};
    const times = await sortedTimes(empty, feeds, calls);
    noop = percentile(times.us, 0.5);
    noopCpu = percentile(times.cpu, 0.5);
  }
  const pct = (q) => percentile(us, q);
  console.log(`RESULT engine=onnxruntime model=${model} b1_p50_us=${pct(0.5).toFixed(1)} ` +
              `b1_p99_us=${pct(0.99).toFixed(1)} b1_cpu_p50_us=${percentile(cpu, 0.5).toFixed(1)} ` +
              `b100_img_per_s=${b100.toFixed(0)} noop_p50_us=${noop.toFixed(1)} ` +
              `noop_cpu_p50_us=${noopCpu.toFixed(1)} ` +
              `version=${ort.env.versions.common}`);
}

main().catch((e) => {
  console.error(`predict_bench_ort: ${e.message}`);
  process.exit(1);
});

// Runs an ONNX model in onnxruntime on one float32 input read from a raw file and writes its first
// output as raw float32 (little-endian, row-major), for tests/deploy/onnx_export_test.cc.
//   node tools/onnxruntime/ort_run.js MODEL.onnx INPUT.f32 100,1,28,28 OUTPUT.f32
// Prints {"input": name, "output": name, "dims": [...]} on success; exits 1 with the error.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, shape, output] = process.argv.slice(2);
  if (output === undefined) throw new Error('usage: ort_run.js MODEL INPUT.f32 DIMS OUTPUT.f32');
  const dims = shape.split(',').map(Number);
  const session = await ort.InferenceSession.create(
      model, {intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const bytes = fs.readFileSync(input);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, dims)};
  const result = (await session.run(feeds))[session.outputNames[0]];
  fs.writeFileSync(output, Buffer.from(result.data.buffer, result.data.byteOffset,
                                       result.data.byteLength));
  console.log(JSON.stringify(
      {input: session.inputNames[0], output: session.outputNames[0], dims: result.dims}));
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});

// Exporting a predict job to ONNX (opset 13), for the inference engine a company already runs
// (onnxruntime, TensorRT, OpenVINO, ...): the recorded ops as ONNX nodes, the variables' current
// values as initializers.
//
//   auto body = [](flow::Blob images /*(N, 1, 28, 28)*/) {
//     return flow::nn::softmax(flow::jobs::LenetLogits(images, {}));   // (N, 10)
//   };
//   FLOWRT_RETURN_IF_ERROR(flow::export_onnx("lenet_models_1", body,
//                                            flow::Placeholder({1, 28, 28}, flow::kFloat,
//                                            "images"), "lenet.onnx", {.output_names =
//                                            {"probabilities"}}));
//
// The body and example are what flow::Predictor::Load takes, so a served model and its export
// are the same job.
// The model's inputs are the job's placeholders (named as the Placeholder was, else input_<i>),
// its outputs what the body returned (output_names, else output_<i>). With dynamic_batch the
// first dimension of every input and output is the symbolic "N", so one file serves batch 1 and
// batch 1000; a reshape keeps the batch as ONNX's 0 ("copy this dimension"), and an op that mixes
// examples of a batch (a reshape or transpose or concat across dimension 0) is refused — export
// with dynamic_batch = false to get the recorded batch size fixed in the file instead.
//
// Every op of the job needs an ONNX mapping (deploy/onnx_ops.cc lists them: conv2d, dense,
// matmul, bias_add, max/avg pooling, reshape, softmax, the elementwise ops, ...); an op without
// one is refused by name and type. Train jobs are refused (export the predict job of the same
// body). Fused activations become their own ONNX node; dropout (a train-only op) is an Identity.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "graph/global_function.h"
#include "graph/predictor.h"

namespace flow {

struct OnnxExportOptions {
  // First dimension of inputs and outputs symbolic ("N"), or the recorded batch size.
  bool dynamic_batch = true;
  // Names of the model's outputs, one per blob the body returns; empty = output_<i>.
  std::vector<std::string> output_names;
  // ModelProto.doc_string: what the file is (e.g. the snapshot it came from).
  std::string doc;
};

// Writes `job` (a predict job; compiled first if it is not yet) with its session's current
// variable values to `path` (missing parent directories are made; the file is replaced whole or
// not at all). Errors name the job, the op and its type, or the file.
absl::Status export_onnx(JobFunction& job, const std::string& path,
                         const OnnxExportOptions& options = {});
// `body` recorded for batch 1 of `example` (as Predictor::Load does) with the variables of the
// snapshot at `snapshot_dir`; errors also when the snapshot lacks one of the body's variables.
absl::Status export_onnx(const std::string& snapshot_dir, const Predictor::Body& body,
                         const Placeholder& example, const std::string& path,
                         const OnnxExportOptions& options = {});
// As above, with the variables' values given by name (as Predictor::Create).
absl::Status export_onnx(const std::map<std::string, Tensor>& variables,
                         const Predictor::Body& body, const Placeholder& example,
                         const std::string& path, const OnnxExportOptions& options = {});

}  // namespace flow

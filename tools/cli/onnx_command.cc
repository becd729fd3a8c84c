// flowrt ckpt export SNAPSHOT --job=lenet|mlp|mlp_finetune --onnx=FILE: the model's predict graph
// with the snapshot's weights as an ONNX model (deploy/onnx_export.h), for other inference engines.
//   input  "images"        float32 (N, 1, 28, 28), pixels in [0, 1] as flowrt's MNIST reader gives
//   output "probabilities" float32 (N, 10), softmax of the logits: what `flowrt predict` prints
//
//   $ flowrt ckpt export lenet_models_1 --job=lenet --onnx=lenet.onnx
//   exported lenet (8 variables) from lenet_models_1 to lenet.onnx
#include <iostream>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "deploy/onnx_export.h"
#include "graph/flow.h"
#include "jobs/models.h"
#include "tools/cli/commands.h"

ABSL_FLAG(std::string, onnx, "", "ckpt export: the ONNX model to write (needs --job)");
ABSL_DECLARE_FLAG(std::string, job);

namespace flow::cli {

bool OnnxExportRequested() { return !absl::GetFlag(FLAGS_onnx).empty(); }

int RunCkptExportOnnx(const std::vector<std::string>& args) {
  const std::string onnx = absl::GetFlag(FLAGS_onnx), job = absl::GetFlag(FLAGS_job);
  if (args.size() != 1) {
    return Fail("ckpt export",
                absl::InvalidArgumentError(
                    "usage: flowrt ckpt export SNAPSHOT --job=lenet|mlp|mlp_finetune "
                    "--onnx=FILE"));
  }
  const jobs::Model* model = jobs::FindModel(job);
  if (model == nullptr) {
    return Fail("ckpt export", absl::InvalidArgumentError(absl::StrCat(
                                   "unknown --job='", job, "' (lenet, mlp or mlp_finetune)")));
  }
  auto probabilities = [model](const Blob& images) {
    return nn::softmax(model->logits(images, {.train = false}));
  };
  absl::Status status = export_onnx(
      args[0], probabilities, Placeholder({1, 28, 28}, kFloat, "images"), onnx,
      {.output_names = {"probabilities"},
       .doc = absl::StrCat("flowrt ", job, " from snapshot ", args[0],
                           ": images (N, 1, 28, 28) in [0, 1] -> probabilities (N, 10)")});
  if (!status.ok()) return Fail("ckpt export", status);
  std::cout << "exported " << job << " from " << args[0] << " to " << onnx << "\n";
  return 0;
}

}  // namespace flow::cli

// The seed's models as job bodies: LeNet (quick_start/lenet_train.py), the MLP of
// mlp_mnist_origin.py and the fine-tune MLP of mlp_mnist_finetune.py, with OneFlow's layer
// names, so their snapshots have OneFlow's variable names (conv1-weight, dense2-bias, ...).
//
//   const flow::jobs::Model* lenet = flow::jobs::FindModel("lenet");
//   flow::Blob logits = lenet->logits(images, {.train = true, .dropout = 0.5});   // (N, 10)
#pragma once

#include <string>
#include <vector>

#include "framework/blob.h"

namespace flow::jobs {

struct ModelOptions {
  bool train = false;    // dropout only in train jobs (the job-side dropout checks this too)
  float dropout = 0.5f;  // LeNet's dropout rate after dense1
};

struct Model {
  std::string name;         // "lenet", "mlp", "mlp_finetune"
  std::string description;  // one line for --help
  // Images (N, 1, 28, 28) f32 → logits (N, 10).
  Blob (*logits)(const Blob& images, const ModelOptions& options);
};

// Null for an unknown name.
const Model* FindModel(absl::string_view name);
const std::vector<Model>& AllModels();

// conv1 32×5×5 SAME relu → max_pool 2/2 → conv2 64×5×5 SAME relu → max_pool 2/2 → reshape →
// dense1 512 relu → dropout (train) → dense2 10. truncated_normal(0.1) kernels, zero biases.
Blob LenetLogits(const Blob& images, const ModelOptions& options);
// reshape (N, 784) → dense1 512 relu → dense2 10.
Blob MlpLogits(const Blob& images, const ModelOptions& options);
// The MLP plus dense3 10 → 10 (fine-tuning adds a layer on top of a loaded MLP).
Blob MlpFinetuneLogits(const Blob& images, const ModelOptions& options);

}  // namespace flow::jobs

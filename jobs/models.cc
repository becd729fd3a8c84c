#include "jobs/models.h"

#include "graph/flow.h"

namespace flow::jobs {

Blob LenetLogits(const Blob& images, const ModelOptions& options) {
  auto init = truncated_normal(0.1);
  // (N, 1, 28, 28) → (N, 32, 28, 28) → (N, 32, 14, 14)
  Blob conv1 = layers::conv2d(
      images, 32, {5, 5},
      {.padding = "SAME", .activation = nn::relu, .kernel_initializer = init, .name = "conv1"});
  Blob pool1 = nn::max_pool2d(conv1, {2, 2}, {2, 2}, "SAME", "NCHW", "pool1");
  // → (N, 64, 14, 14) → (N, 64, 7, 7)
  Blob conv2 = layers::conv2d(
      pool1, 64, {5, 5},
      {.padding = "SAME", .activation = nn::relu, .kernel_initializer = init, .name = "conv2"});
  Blob pool2 = nn::max_pool2d(conv2, {2, 2}, {2, 2}, "SAME", "NCHW", "pool2");
  // → (N, 3136) → (N, 512) → (N, 10)
  Blob flat = reshape(pool2, {pool2.ok() ? pool2.shape()[0] : 0, -1});
  Blob hidden = layers::dense(
      flat, 512, {.activation = nn::relu, .kernel_initializer = init, .name = "dense1"});
  if (options.train) hidden = nn::dropout(hidden, options.dropout);
  return layers::dense(hidden, 10, {.kernel_initializer = init, .name = "dense2"});
}

Blob MlpLogits(const Blob& images, const ModelOptions&) {
  auto init = truncated_normal(0.1);
  Blob x = reshape(images, {images.ok() ? images.shape()[0] : 0, -1});  // (N, 784)
  Blob hidden =
      layers::dense(x, 512, {.activation = nn::relu, .kernel_initializer = init, .name = "dense1"});
  return layers::dense(hidden, 10, {.kernel_initializer = init, .name = "dense2"});
}

Blob MlpFinetuneLogits(const Blob& images, const ModelOptions& options) {
  Blob logits = MlpLogits(images, options);
  return layers::dense(logits, 10, {.kernel_initializer = truncated_normal(0.1), .name = "dense3"});
}

const std::vector<Model>& AllModels() {
  static const auto* models = new std::vector<Model>{
      {"lenet", "LeNet: 2 conv (32, 64 5x5 SAME) + max-pool, dense 512, dropout, dense 10",
       &LenetLogits},
      {"mlp", "MLP of mlp_mnist_origin: dense 512 relu, dense 10", &MlpLogits},
      {"mlp_finetune", "MLP of mlp_mnist_finetune: the MLP plus dense3 10->10", &MlpFinetuneLogits},
  };
  return *models;
}

const Model* FindModel(absl::string_view name) {
  for (const Model& model : AllModels()) {
    if (model.name == name) return &model;
  }
  return nullptr;
}

}  // namespace flow::jobs

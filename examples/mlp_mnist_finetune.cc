// OneFlow's basics_topics/mlp_mnist_finetune.py: the MLP of mlp_mnist_origin plus dense3 (10->10),
// loaded from ./mlp_models_1, trained one more epoch and saved in ./mlp_ext_models_1.
// From the repo root, after build/examples/mlp_mnist_origin: build/examples/mlp_mnist_finetune
#include <iostream>

#include "absl/strings/str_join.h"
#include "data/mnist.h"
#include "graph/checkpoint.h"
#include "graph/flow.h"

int main() {
  auto train_job = flow::global_function(
      "train_job", flow::JobType::kTrain,
      [](flow::Blob images /*(100,1,28,28)*/, flow::Blob labels /*(100,)*/) {
        flow::scope::Placement cpu("cpu", "0:0");
        auto initializer = flow::truncated_normal(0.1);
        auto reshape = flow::reshape(images, {images.shape()[0], -1});
        auto hidden = flow::layers::dense(
            reshape, 512,
            {.activation = flow::nn::relu, .kernel_initializer = initializer, .name = "dense1"});
        auto dense2 =
            flow::layers::dense(hidden, 10, {.kernel_initializer = initializer, .name = "dense2"});
        auto logits =
            flow::layers::dense(dense2, 10, {.kernel_initializer = initializer, .name = "dense3"});
        auto loss = flow::nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({}, {0.1}),
                             {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      flow::Placeholder({100, 1, 28, 28}, flow::kFloat), flow::Placeholder({100}, flow::kInt32));

  absl::StatusOr<flow::checkpoint::Snapshot> snapshot = flow::checkpoint::get("./mlp_models_1");
  if (!snapshot.ok()) {
    std::cerr << snapshot.status() << "\n";  // none yet: run mlp_mnist_origin first
    return 1;
  }
  absl::StatusOr<flow::LoadReport> report = flow::load_variables(*snapshot);
  if (!report.ok()) {
    std::cerr << report.status() << "\n";
    return 1;
  }
  std::cout << "loaded from ./mlp_models_1: " << absl::StrJoin(report->loaded, ", ") << "\n"
            << "initialized (not in ./mlp_models_1): " << absl::StrJoin(report->missing, ", ")
            << "\n";

  absl::StatusOr<flow::data::Mnist> mnist = flow::data::load_mnist(100, 100, "data/mnist");
  if (!mnist.ok()) {
    std::cerr << mnist.status() << "\n";  // no data yet: says to run `bash tools/setup.sh`
    return 1;
  }
  for (int i = 0; i < mnist->train.num_batches(); ++i) {
    absl::StatusOr<flow::Tensor> loss = train_job(mnist->train.images(i), mnist->train.labels(i));
    if (!loss.ok()) {
      std::cerr << loss.status() << "\n";
      return 1;
    }
    if (i % 20 == 0) std::cout << "step " << i << "  loss " << loss->mean() << "\n";
  }
  if (absl::Status saved = flow::checkpoint::save("./mlp_ext_models_1"); !saved.ok()) {
    std::cerr << saved << "\n";
    return 1;
  }
}

// OneFlow's quick_start/lenet_train.py: LeNet on MNIST for 20 epochs (or EPOCHS), then a snapshot
// in ./lenet_models_1 for lenet_eval. From the repo root: build/examples/lenet_train [EPOCHS]
#include <filesystem>
#include <iostream>

#include "absl/strings/numbers.h"
#include "data/mnist.h"
#include "graph/checkpoint.h"
#include "graph/flow.h"
#include "runtime/openmp_wait_policy.h"

flow::Blob lenet(const flow::Blob& data, bool train = false) {
  auto initializer = flow::truncated_normal(0.1);
  auto conv1 = flow::layers::conv2d(data, 32, {5, 5},
                                    {.padding = "SAME",
                                     .activation = flow::nn::relu,
                                     .kernel_initializer = initializer,
                                     .name = "conv1"});
  auto pool1 = flow::nn::max_pool2d(conv1, {2, 2}, {2, 2}, "SAME", "NCHW", "pool1");
  auto conv2 = flow::layers::conv2d(pool1, 64, {5, 5},
                                    {.padding = "SAME",
                                     .activation = flow::nn::relu,
                                     .kernel_initializer = initializer,
                                     .name = "conv2"});
  auto pool2 = flow::nn::max_pool2d(conv2, {2, 2}, {2, 2}, "SAME", "NCHW", "pool2");
  auto reshape = flow::reshape(pool2, {pool2.shape()[0], -1});
  auto hidden = flow::layers::dense(
      reshape, 512,
      {.activation = flow::nn::relu, .kernel_initializer = initializer, .name = "dense1"});
  if (train) hidden = flow::nn::dropout(hidden, /*rate=*/0.5, std::nullopt, "dropout");
  return flow::layers::dense(hidden, 10, {.kernel_initializer = initializer, .name = "dense2"});
}

int main(int argc, char** argv) {
  // Idle OpenMP threads spin ~tens of µs, not libgomp's ~3 ms (may re-execute the program).
  flow::UseBoundedOpenMpWait(argv);
  int epochs = 20;
  if (argc > 2 || (argc == 2 && (!absl::SimpleAtoi(argv[1], &epochs) || epochs < 1))) {
    std::cerr << "usage: lenet_train [EPOCHS]  (default 20, as lenet_train.py)\n";
    return 2;
  }
  // checkpoint::save never overwrites a snapshot: say so now, not after minutes of training.
  if (std::filesystem::exists("./lenet_models_1")) {
    std::cerr << "./lenet_models_1 exists: remove it first\n";
    return 1;
  }
  auto train_job = flow::global_function(
      "train_job", flow::JobType::kTrain,
      [](flow::Blob images /*(100,1,28,28)*/, flow::Blob labels /*(100,)*/) {
        flow::scope::Placement cpu("cpu", "0:0");  // the script's is "gpu"
        auto logits = lenet(images, /*train=*/true);
        auto loss = flow::nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({}, {0.1}),
                             {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      flow::Placeholder({100, 1, 28, 28}, flow::kFloat), flow::Placeholder({100}, flow::kInt32));

  absl::StatusOr<flow::data::Mnist> mnist = flow::data::load_mnist(100, 100, "data/mnist");
  if (!mnist.ok()) {
    std::cerr << mnist.status() << "\n";  // no data yet: says to run `bash tools/setup.sh`
    return 1;
  }
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (int i = 0; i < mnist->train.num_batches(); ++i) {
      absl::StatusOr<flow::Tensor> loss = train_job(mnist->train.images(i), mnist->train.labels(i));
      if (!loss.ok()) {
        std::cerr << loss.status() << "\n";
        return 1;
      }
      if (i % 20 == 0) {
        std::cout << "epoch " << epoch << "  step " << i << "  loss " << loss->mean() << "\n";
      }
    }
  }
  if (absl::Status saved = flow::checkpoint::save("./lenet_models_1"); !saved.ok()) {
    std::cerr << saved << "\n";
    return 1;
  }
}

// OneFlow's quick_start/lenet_eval.py: LeNet (no dropout) with the weights of ./lenet_models_1
// over the 10,000 test images; prints `accuracy: 99.4%`-style. From the repo root, after
// lenet_train: build/examples/lenet_eval
#include <cstdio>
#include <iostream>

#include "absl/strings/str_join.h"
#include "data/mnist.h"
#include "graph/checkpoint.h"
#include "graph/flow.h"

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

int g_total = 0;
int g_correct = 0;

void acc(const flow::Tensor& labels, const flow::Tensor& predictions) {
  for (int i = 0; i < labels.num_elements(); ++i) {
    g_correct += predictions.data<int32_t>()[i] == labels.data<int32_t>()[i];
  }
  g_total += labels.num_elements();
}

int main() {
  auto eval_job = flow::global_function(
      "eval_job", flow::JobType::kPredict,
      [](flow::Blob images /*(100,1,28,28)*/) {
        flow::scope::Placement cpu("cpu", "0:0");  // the script's is "gpu"
        auto logits = lenet(images, /*train=*/false);
        return flow::math::argmax(logits);  // (100,) int32: the script's np.argmax(logits, 1)
      },
      flow::Placeholder({100, 1, 28, 28}, flow::kFloat));

  absl::StatusOr<flow::checkpoint::Snapshot> snapshot = flow::checkpoint::get("./lenet_models_1");
  if (!snapshot.ok()) {
    std::cerr << snapshot.status() << "\n";  // none yet: run lenet_train first
    return 1;
  }
  absl::StatusOr<flow::LoadReport> report = flow::load_variables(*snapshot);
  if (!report.ok()) {
    std::cerr << report.status() << "\n";
    return 1;
  }
  if (!report->missing.empty()) {  // a snapshot of another job: do not evaluate random weights
    std::cerr << "./lenet_models_1 lacks " << absl::StrJoin(report->missing, ", ") << "\n";
    return 1;
  }

  absl::StatusOr<flow::data::Mnist> mnist = flow::data::load_mnist(100, 100, "data/mnist");
  if (!mnist.ok()) {
    std::cerr << mnist.status() << "\n";  // no data yet: says to run `bash tools/setup.sh`
    return 1;
  }
  for (int i = 0; i < mnist->test.num_batches(); ++i) {
    absl::StatusOr<flow::Tensor> predictions = eval_job(mnist->test.images(i));
    if (!predictions.ok()) {
      std::cerr << predictions.status() << "\n";
      return 1;
    }
    acc(mnist->test.labels(i), *predictions);
  }
  std::printf("accuracy: %.1f%%\n", g_correct * 100.0 / g_total);
}

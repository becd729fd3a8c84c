// The README's MLP job, built against an installed flowrt: one SGD step on random data, then a
// snapshot. Prints "ok loss=<value>" and exits 0 when everything worked.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "graph/flow.h"

int main(int argc, char** argv) {
  // The README's job, word for word.
  auto train_job = flow::global_function(
      "train_job", flow::JobType::kTrain,
      [](flow::Blob images /*(100,1,28,28)*/, flow::Blob labels /*(100,)*/) {
        auto init = flow::truncated_normal(0.1);
        auto x = flow::reshape(images, {images.shape()[0], -1});
        auto hidden = flow::layers::dense(
            x, 512, {.activation = flow::nn::relu, .kernel_initializer = init, .name = "dense1"});
        auto logits =
            flow::layers::dense(hidden, 10, {.kernel_initializer = init, .name = "dense2"});
        auto loss = flow::nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({}, {0.1}),
                             {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      flow::Placeholder({100, 1, 28, 28}, flow::kFloat), flow::Placeholder({100}, flow::kInt32));
  // clang-format on

  std::mt19937 rng(1);
  std::uniform_real_distribution<float> pixel(0.f, 1.f);
  std::vector<float> image_values(100 * 28 * 28);
  for (float& v : image_values) v = pixel(rng);
  std::vector<int32_t> label_values(100);
  for (int i = 0; i < 100; ++i) label_values[i] = i % 10;
  flow::Tensor images = flow::Tensor::FromVector<float>({100, 1, 28, 28}, image_values);
  flow::Tensor labels = flow::Tensor::FromVector<int32_t>({100}, label_values);

  absl::StatusOr<flow::Tensor> loss = train_job(images, labels);  // records + compiles + runs
  if (!loss.ok()) {
    std::fprintf(stderr, "train step failed: %s\n", std::string(loss.status().message()).c_str());
    return 1;
  }
  if (argc > 1) {
    absl::Status saved = flow::checkpoint::save(argv[1]);
    if (!saved.ok()) {
      std::fprintf(stderr, "save failed: %s\n", std::string(saved.message()).c_str());
      return 1;
    }
  }
  std::printf("ok loss=%.4f\n", loss->mean());
  return 0;
}

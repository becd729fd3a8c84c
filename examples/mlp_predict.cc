// Serving ./mlp_models_1 (from mlp_mnist_origin) with flow::Predictor: a user-written predict job
// loaded once, then called with a batch of 1 and a batch of 7 (each size compiled on first use).
// From the repo root: build/examples/mlp_predict
#include <cstdio>
#include <iostream>

#include "data/mnist.h"
#include "graph/flow.h"

int main() {
  auto body = [](const flow::Blob& images /*(N, 1, 28, 28)*/) {
    auto x = flow::reshape(images, {images.shape()[0], -1});  // (N, 784)
    auto hidden = flow::layers::dense(x, 512, {.activation = flow::nn::relu, .name = "dense1"});
    return flow::nn::softmax(flow::layers::dense(hidden, 10, {.name = "dense2"}));  // (N, 10)
  };
  auto predictor = flow::Predictor::Load("./mlp_models_1", body, flow::Placeholder({1, 28, 28}));
  auto mnist = flow::data::load_mnist(100, 100, "data/mnist");
  if (!predictor.ok() || !mnist.ok()) {
    std::cerr << (predictor.ok() ? mnist.status() : predictor.status()) << "\n";
    return 1;
  }
  flow::Tensor batch = mnist->test.images(0);  // (100, 1, 28, 28)
  for (int n : {1, 7}) {
    flow::Tensor images =
        flow::Tensor::Wrap(batch.raw_data(), flow::Shape({n, 1, 28, 28}), flow::kFloat);
    absl::StatusOr<flow::Tensor> probs = (*predictor)->Predict(images);  // (n, 10)
    if (!probs.ok()) {
      std::cerr << probs.status() << "\n";
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      const float* p = probs->data<float>() + 10 * i;
      int best = 0;
      for (int c = 1; c < 10; ++c) best = p[c] > p[best] ? c : best;
      std::printf("batch %d, image %d: %d (p=%.3f), label %d\n", n, i, best, p[best],
                  mnist->test.labels(0).data<int32_t>()[i]);
    }
  }
}

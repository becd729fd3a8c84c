// A user program for the MPI tests, written as for one process: a 784-H-10 MLP with dropout and
// SGD momentum 0.9 on a fixed synthetic batch, trained 10 steps, saved. Under `mpirun -np N` the
// same binary trains data-parallel; tests/mpi/mpi_case.sh compares the saved weights with a
// one-process run's. It also checks that the fetched per-example loss keeps its global shape.
//
//   mlp_dropout_program OUT_DIR [HIDDEN=64] [BATCH=120]
#include <cstdlib>
#include <iostream>
#include <string>

#include "graph/checkpoint.h"
#include "graph/flow.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: mlp_dropout_program OUT_DIR [HIDDEN] [BATCH]\n";
    return 2;
  }
  const std::string out = argv[1];
  const int hidden = argc > 2 ? std::atoi(argv[2]) : 64;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 120;
  flow::Session session({.seed = 3});
  auto train_job = flow::global_function(
      session, "train_job", flow::JobType::kTrain,
      [hidden](flow::Blob images /*(B,1,28,28)*/, flow::Blob labels /*(B,)*/) {
        auto init = flow::truncated_normal(0.1);
        auto x = flow::reshape(images, {images.shape()[0], -1});
        auto h = flow::layers::dense(
            x, hidden,
            {.activation = flow::nn::relu, .kernel_initializer = init, .name = "dense1"});
        h = flow::nn::dropout(h, 0.5);
        auto logits = flow::layers::dense(h, 10, {.kernel_initializer = init, .name = "dense2"});
        auto loss = flow::nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({}, {0.1}),
                             {.momentum = 0.9f})
            .minimize(loss);
        return loss;  // (B,): one loss per example
      },
      flow::Placeholder({batch, 1, 28, 28}, flow::kFloat),
      flow::Placeholder({batch}, flow::kInt32));

  // The same global batch on every rank: pixels and labels from a fixed pattern.
  flow::Tensor images(flow::Shape({batch, 1, 28, 28}), flow::kFloat);
  flow::Tensor labels(flow::Shape({batch}), flow::kInt32);
  for (int64_t i = 0; i < images.num_elements(); ++i) {
    images.data<float>()[i] = static_cast<float>((i * 7919) % 256) / 255.f;
  }
  for (int i = 0; i < batch; ++i) labels.data<int32_t>()[i] = (i * 7) % 10;

  for (int step = 0; step < 10; ++step) {
    absl::StatusOr<flow::Tensor> loss = train_job(images, labels);
    if (!loss.ok()) {
      std::cerr << loss.status().message() << "\n";
      return 1;
    }
    if (loss->shape() != flow::Shape({batch})) {
      std::cerr << "fetched loss has shape " << loss->shape().ToString() << ", expected (" << batch
                << ")\n";
      return 1;
    }
  }
  if (absl::Status saved = flow::checkpoint::save(out, session); !saved.ok()) {
    std::cerr << saved.message() << "\n";
    return 1;
  }
  return 0;
}

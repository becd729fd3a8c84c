// A small CNN with batch normalization and leaky ReLU on Fashion-MNIST (Debian's
// dataset-fashion-mnist): the first model a user writes after LeNet. The train job and the
// predict job share the session's variables, so the predict job evaluates the model as it trains
// (with the moving statistics the train job keeps). At the end the program saves a snapshot,
// loads it into a fresh session's predict job and evaluates again: both accuracies must agree.
//
//   conv 3×3 16 → bn → leaky_relu → max_pool 2 → conv 3×3 32 → bn → leaky_relu → max_pool 2
//   → dense 128 → bn → leaky_relu → dense 10          (batch 100, NCHW)
// SGD with momentum 0.9, lr 0.05 then 0.01 from epoch 4, shuffled batches. The PyTorch mirror of
// this model and recipe is tools/bench/fashion_bn_cnn_torch.py.
//
// From the repo root: build/examples/fashion_bn_cnn [EPOCHS [STEPS_PER_EPOCH]]
// (default 5 epochs of all 600 steps; saves ./fashion_bn_cnn_models, which must not exist).
#include <filesystem>
#include <iostream>

#include "absl/strings/numbers.h"
#include "data/mnist.h"
#include "graph/checkpoint.h"
#include "graph/flow.h"
#include "runtime/openmp_wait_policy.h"

namespace {

constexpr int kBatch = 100;
constexpr char kSnapshot[] = "./fashion_bn_cnn_models";

flow::Blob LeakyRelu(const flow::Blob& x, absl::string_view name) {
  return flow::nn::leaky_relu(x, 0.1f, name);
}

// Conv (no bias: the batch norm's beta is the shift) → batch norm → leaky relu → 2×2 max pool.
flow::Blob ConvBlock(const flow::Blob& x, int64_t filters, const std::string& name) {
  flow::Blob conv = flow::layers::conv2d(x, filters, {3, 3},
                                         {.padding = "SAME", .use_bias = false, .name = name});
  flow::Blob bn = flow::layers::batch_normalization(conv, {.axis = 1, .name = name + "_bn"});
  return flow::nn::max_pool2d(LeakyRelu(bn, name + "_act"), {2, 2}, {2, 2}, "SAME", "NCHW",
                              name + "_pool");
}

flow::Blob Model(const flow::Blob& images /*(100, 1, 28, 28)*/) {
  flow::Blob x = ConvBlock(images, 16, "conv1");  // (100, 16, 14, 14)
  x = ConvBlock(x, 32, "conv2");                  // (100, 32, 7, 7)
  x = flow::reshape(x, {x.shape()[0], -1});       // (100, 1568)
  const flow::Initializer init = flow::xavier_uniform_initializer().value();
  x = flow::layers::dense(x, 128, {.use_bias = false, .kernel_initializer = init, .name = "fc1"});
  x = LeakyRelu(flow::layers::batch_normalization(x, {.axis = 1, .name = "fc1_bn"}), "fc1_act");
  return flow::layers::dense(x, 10, {.kernel_initializer = init, .name = "fc2"});  // logits
}

flow::JobFunction PredictJob(flow::Session& session) {
  return flow::global_function(
      session, "predict_job", flow::JobType::kPredict,
      [](flow::Blob images) { return flow::math::argmax(Model(images)); },  // (100,) int32
      flow::Placeholder({kBatch, 1, 28, 28}));
}

absl::StatusOr<double> Accuracy(flow::JobFunction& predict, const flow::data::Split& test) {
  int64_t correct = 0;
  for (int i = 0; i < test.num_batches(); ++i) {
    absl::StatusOr<flow::Tensor> classes = predict(test.images(i));
    if (!classes.ok()) return classes.status();
    const flow::Tensor labels = test.labels(i);
    for (int64_t k = 0; k < labels.num_elements(); ++k) {
      correct += classes->data<int32_t>()[k] == labels.data<int32_t>()[k];
    }
  }
  return static_cast<double>(correct) / (test.num_batches() * kBatch);
}

int Fail(const absl::Status& status) {
  std::cerr << status << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Idle OpenMP threads spin ~tens of µs, not libgomp's ~3 ms (may re-execute the program).
  flow::UseBoundedOpenMpWait(argv);
  int epochs = 5, steps = 0;  // 0: every batch
  if (argc > 3 || (argc > 1 && (!absl::SimpleAtoi(argv[1], &epochs) || epochs < 1)) ||
      (argc > 2 && (!absl::SimpleAtoi(argv[2], &steps) || steps < 1))) {
    std::cerr << "usage: fashion_bn_cnn [EPOCHS [STEPS_PER_EPOCH]]  (default 5 epochs, all)\n";
    return 2;
  }
  if (std::filesystem::exists(kSnapshot)) {
    std::cerr << kSnapshot << " exists: remove it first\n";
    return 1;
  }
  absl::StatusOr<flow::data::Mnist> data = flow::data::load_mnist(
      kBatch, kBatch, flow::data::kFashionMnistDir, {.shuffle = true, .seed = 1});
  if (!data.ok()) return Fail(data.status());  // apt-get install dataset-fashion-mnist
  if (steps == 0 || steps > data->train.num_batches()) steps = data->train.num_batches();

  flow::Session& session = flow::Session::Default();
  auto train_job = flow::global_function(
      "train_job", flow::JobType::kTrain,
      [steps](flow::Blob images, flow::Blob labels) {
        flow::Blob loss = flow::nn::sparse_softmax_cross_entropy_with_logits(labels, Model(images));
        const int64_t decay = 3 * static_cast<int64_t>(steps);  // epoch 4 onwards
        flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({decay}, {0.05f, 0.01f}),
                             {.momentum = 0.9f})
            .minimize(loss);
        return loss;
      },
      flow::Placeholder({kBatch, 1, 28, 28}), flow::Placeholder({kBatch}, flow::kInt32));
  flow::JobFunction predict_job = PredictJob(session);  // shares the train job's variables

  double trained = 0;  // the test accuracy after the last epoch
  for (int epoch = 0; epoch < epochs; ++epoch) {
    data->train.SetEpoch(epoch);
    for (int i = 0; i < steps; ++i) {
      absl::StatusOr<flow::Tensor> loss = train_job(data->train.images(i), data->train.labels(i));
      if (!loss.ok()) return Fail(loss.status());
      if (i % 100 == 0) {
        std::cout << "epoch " << epoch << "  step " << i << "  loss " << loss->mean() << "\n";
      }
    }
    absl::StatusOr<double> accuracy = Accuracy(predict_job, data->test);
    if (!accuracy.ok()) return Fail(accuracy.status());
    std::cout << "epoch " << epoch << "  test accuracy " << *accuracy << "\n";
    trained = *accuracy;
  }
  if (absl::Status saved = flow::checkpoint::save(kSnapshot); !saved.ok()) return Fail(saved);

  // A fresh session knows only the predict job: its variables come from the snapshot.
  flow::Session fresh;
  flow::JobFunction loaded_job = PredictJob(fresh);
  absl::StatusOr<flow::checkpoint::Snapshot> snapshot = flow::checkpoint::get(kSnapshot);
  if (!snapshot.ok()) return Fail(snapshot.status());
  absl::StatusOr<flow::LoadReport> report = flow::load_variables(*snapshot, true, fresh);
  if (!report.ok()) return Fail(report.status());
  if (!report->missing.empty()) {
    return Fail(absl::DataLossError("the snapshot lacks " + report->missing.front()));
  }
  absl::StatusOr<double> loaded = Accuracy(loaded_job, data->test);
  if (!loaded.ok()) return Fail(loaded.status());
  std::cout << "saved " << kSnapshot << "; loaded into a new session: test accuracy " << *loaded
            << (*loaded == trained ? " (same as trained)" : " (DIFFERS from trained)") << "\n";
  return *loaded == trained ? 0 : 1;
}

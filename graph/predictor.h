// Serving a trained snapshot: a predict job loaded once, then called with any batch size from
// any number of threads.
//
//   auto body = [](flow::Blob images /*(N, 1, 28, 28)*/) {
//     return flow::nn::softmax(flow::jobs::LenetLogits(images, {}));   // (N, 10)
//   };
//   FLOWRT_ASSIGN_OR_RETURN(std::unique_ptr<flow::Predictor> predictor,
//                    flow::Predictor::Load("./lenet_models_1", body,
//                                          flow::Placeholder({1, 28, 28}, flow::kFloat)));
//   FLOWRT_ASSIGN_OR_RETURN(flow::Tensor probs, predictor->Predict(images));   // images (7, 1, 28,
//   28)
//
// How it works. The body is an ordinary predict job function of one input whose first dimension
// is the batch. Load records it for batch 1 in a private session (creating its variables) and
// loads the snapshot into those variables. A call with a batch size not seen before records and
// compiles the body again for that size (in the same session, so get_variable finds the loaded
// weights: every compiled job shares them, read-only). Each compiled job has its own activation
// arena, so a call checks one out of a per-batch pool for its whole duration; a call that finds
// the pool empty (the first call of a size, or more threads than compiled copies) compiles one
// more. After warm-up — every batch size used, by as many threads as will call at once — a call
// takes a pooled job, copies the input in, runs the kernels and copies the first fetch out; the
// predictor itself allocates nothing (Predict into a caller-owned tensor). Kernels on oneDNN's
// primitive API (conv, pooling, softmax) still allocate inside oneDNN 2.6, which builds an
// argument map on every execute; dense-only jobs allocate nothing at all
// (tests/graph/predictor_test.cc counts both).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "framework/blob.h"
#include "graph/global_function.h"
#include "runtime/tensor.h"

namespace flow {

struct PredictorOptions {
  // OpenMP threads each call's kernels use. 1 suits batch-1 latency and callers that bring their
  // own threads; 0 = OMP_NUM_THREADS, else every core (session.h).
  int threads = 1;
  // Job names are "<name>_b<batch>_<copy>" (seen in errors and graph views).
  std::string name = "predict";
};

class Predictor {
 public:
  // One input blob (N, example...) → the blob the predict job returns, (N, ...).
  using Body = std::function<Blob(const Blob&)>;

  // Loads the snapshot at `snapshot_dir` into `body`'s variables. `example` is one input without
  // the batch dimension (e.g. (1, 28, 28) f32). Errors: the snapshot cannot be read, the body
  // does not build, or the snapshot lacks one of its variables or has another shape for it.
  static absl::StatusOr<std::unique_ptr<Predictor>> Load(const std::string& snapshot_dir, Body body,
                                                         Placeholder example,
                                                         PredictorOptions options = {});
  // As Load, with the variables' values given by name (e.g. session.get_all_variables()).
  static absl::StatusOr<std::unique_ptr<Predictor>> Create(
      const std::map<std::string, Tensor>& variables, Body body, Placeholder example,
      PredictorOptions options = {});

  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  // Runs the job on `input` (N, example...) with N >= 1 and writes the first fetch into `output`,
  // which must already have the output's shape and dtype (OutputShape). Thread-safe; allocates
  // nothing once this batch size has a free compiled copy.
  absl::Status Predict(const Tensor& input, Tensor* output);
  // As above, returning a new tensor (allocates the result).
  absl::StatusOr<Tensor> Predict(const Tensor& input);

  // Shape and dtype of the output for a batch of n (compiles that size if it is new).
  absl::StatusOr<Shape> OutputShape(int64_t n);
  DataType output_dtype() const;
  // Input shape for a batch of n: (n, example...).
  Shape InputShape(int64_t n) const;
  // How many batch sizes have been compiled, and compiled copies in all (for tests and logs).
  int num_batch_sizes() const;
  int num_compiled_jobs() const;

 private:
  struct Impl;
  explicit Predictor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flow

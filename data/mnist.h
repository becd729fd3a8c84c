// MNIST-family datasets (MNIST, Fashion-MNIST) in memory, batched for job functions; the C++ form
// of OneFlow's `flow.data.load_mnist(train_batch_size, test_batch_size)`.
//
//   FLOWRT_ASSIGN_OR_RETURN(flow::data::Mnist mnist, flow::data::load_mnist(100, 100,
//   "data/mnist")); for (int i = 0; i < mnist.train.num_batches(); ++i) {
//     flow::Tensor images = mnist.train.images(i);  // (100, 1, 28, 28) float32 in [0, 1]
//     flow::Tensor labels = mnist.train.labels(i);  // (100,) int32 in [0, 10)
//     ...
//   }
//
//   // Shuffled training, a new deterministic order per epoch:
//   auto mnist = flow::data::load_mnist(100, 100, dir, {.shuffle = true, .seed = 7}).value();
//   for (int epoch = 0; epoch < 20; ++epoch) {
//     mnist.train.SetEpoch(epoch);
//     for (int i = 0; i < mnist.train.num_batches(); ++i) train_job(mnist.train.images(i), ...);
//   }
//
// Semantics follow OneFlow: images are uint8 / 255 as float32 (no mean/std normalisation), NCHW;
// labels int32; batches in file order; the split size must divide by the batch size (60000 and
// 10000 for MNIST) unless `drop_remainder` is set. flowrt adds the optional seeded shuffle.
//
// Memory and cost: each split holds its examples already converted to float32 and laid out in the
// current epoch's order (train: 60000*784*4 = 188 MB), so `images(i)` and `labels(i)` are O(1)
// views — no copy, no allocation per step. With shuffle on, the split also keeps the uint8 source
// (47 MB) and SetEpoch rewrites the float buffer in place in the new order (about 50 ms per epoch).
//
// View lifetime: views point into the split's buffer. They stay valid while the Split lives, and
// after SetEpoch they show the new epoch's data. Treat them as read-only. A Split is move-only, so
// two owners can never disagree about the order of one buffer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace flow::data {

inline constexpr int kMnistNumClasses = 10;
// Where tools/setup.sh puts real MNIST, relative to the repo root.
inline constexpr char kDefaultMnistDir[] = "data/mnist";
// Debian's dataset-fashion-mnist package.
inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

struct MnistOptions {
  // Reorder the *train* split each epoch (the test split is always in file order: evaluation
  // does not depend on order). The order is a pure function of (seed, epoch); see shuffle.h.
  bool shuffle = false;
  uint64_t seed = 0;
  // When the split size does not divide by the batch size: false (OneFlow's rule) makes that an
  // error; true drops the last size % batch examples of each epoch's order.
  bool drop_remainder = false;
};

// One split (train or test), whole in memory.
class Split {
 public:
  // An empty split: zero batches.
  Split() = default;

  // A split from decoded IDX tensors: images (N, 28, 28) uint8, labels (N,) uint8 < 10; copies
  // them. `name` (e.g. "train") prefixes error messages; all of `options` applies (load_mnist
  // passes shuffle = false for the test split). InvalidArgument if the shapes or labels are wrong,
  // batch_size < 1, N == 0, or N does not divide by batch_size without drop_remainder.
  static absl::StatusOr<Split> Create(std::string name, const Tensor& images, const Tensor& labels,
                                      int batch_size, const MnistOptions& options = {});

  Split(Split&&) = default;
  Split& operator=(Split&&) = default;
  Split(const Split&) = delete;
  Split& operator=(const Split&) = delete;

  const std::string& name() const { return name_; }
  // Examples in the file; num_batches() * batch_size() of them are used per epoch.
  int64_t num_examples() const { return num_examples_; }
  int num_batches() const { return num_batches_; }
  int batch_size() const { return batch_size_; }
  bool shuffled() const { return shuffle_; }
  int64_t epoch() const { return epoch_; }

  // Batch `batch` of the current epoch: a (batch_size, 1, 28, 28) float32 view. REQUIRES:
  // 0 <= batch < num_batches() (checked: a bad index is a caller bug, it aborts).
  Tensor images(int batch) const;
  // Batch `batch` of the current epoch: a (batch_size,) int32 view.
  Tensor labels(int batch) const;

  // Position k of the current epoch came from example order()[k] of the file (k < num_examples).
  const std::vector<int64_t>& order() const { return order_; }

  // Makes `epoch` current. With shuffle on, reorders the examples by EpochPermutation(N, seed,
  // epoch) (epoch 0 is shuffled too); a no-op when `epoch` is already current or shuffle is off.
  void SetEpoch(int64_t epoch);

 private:
  // Writes images_/labels_ in order_ from the uint8 source.
  void Gather(const Tensor& images_u8, const Tensor& labels_u8);

  std::string name_;
  int64_t num_examples_ = 0;
  int batch_size_ = 0;
  int num_batches_ = 0;
  bool shuffle_ = false;
  uint64_t seed_ = 0;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;  // (N,) file index per position
  Tensor images_;               // (N, 1, 28, 28) float32, current order
  Tensor labels_;               // (N,) int32, current order
  Tensor source_images_;        // (N, 28, 28) uint8, file order; kept only when shuffling
  Tensor source_labels_;        // (N,) uint8, file order; kept only when shuffling
};

struct Mnist {
  Split train;
  Split test;
};

// Loads train-{images-idx3,labels-idx1}-ubyte and t10k-{images-idx3,labels-idx1}-ubyte from
// `dir`, each plain or with a ".gz" suffix (plain wins when both exist). Errors name the file:
// NotFound for a missing directory or file (with the command that fetches MNIST), InvalidArgument
// for a malformed header, a count mismatch between images and labels, a label >= 10 or a batch size
// that does not divide the split, DataLoss for a truncated or oversized file.
absl::StatusOr<Mnist> load_mnist(int train_batch_size, int test_batch_size, const std::string& dir,
                                 const MnistOptions& options = {});

}  // namespace flow::data

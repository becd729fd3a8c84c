// The gradient all-reduce of data-parallel training, as a pair of ops so that communication
// overlaps the rest of the backward pass (PyTorch DDP's buckets, Horovod's tensor fusion).
// Optimizer::minimize emits them only when the run has several ranks (runtime/communicator.h).
//
// allreduce_start: grads g_1..g_k, f32 (any shapes) → bucket: (Σ numel(g_j),) f32
//   Packs the grads into one buffer and starts an in-place MPI_Iallreduce (sum) over the ranks.
//   minimize places it right after the last producer of its grads, so it runs while the
//   backward pass of earlier layers is still computing.
// allreduce_wait: bucket (M,) f32; attrs offset, shape, num_ranks → y: `shape` f32
//   Waits for the bucket's reduction (the first wait of a bucket blocks, the others find it
//   done), then y = bucket[offset, offset + numel) / num_ranks: the mean of the ranks' grads.
// Both are .Optimizer() ops (part of the step, not of the model) without gradients.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/op_registry.h"
#include "runtime/communicator.h"
#include "runtime/status.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> StartShape(const ShapeContext& ctx) {
  int64_t total = 0;
  for (int i = 0; i < static_cast<int>(ctx.inputs.size()); ++i) {
    FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, i));
    total += ctx.inputs[i].shape.NumElements();
  }
  return std::vector<BlobDesc>{{Shape({total}), DataType::kFloat}};
}

class StartKernel : public Kernel {
 public:
  explicit StartKernel(const KernelContext& ctx)
      : inputs_(ctx.inputs), bucket_(ctx.out<float>(0)), total_(ctx.outputs[0].num_elements()) {}

  absl::Status Run() override {
    float* dst = bucket_;
    for (const Tensor& g : inputs_) dst = std::copy_n(g.data<float>(), g.num_elements(), dst);
    Communicator::World().StartAllreduceSum(bucket_, total_);
    return absl::OkStatus();
  }

 private:
  std::vector<Tensor> inputs_;
  float* bucket_;
  int64_t total_;
};

absl::StatusOr<std::vector<BlobDesc>> WaitShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  const Shape shape(AttrInts(ctx.op, "shape"));
  const int64_t offset = AttrInt(ctx.op, "offset");
  if (offset < 0 || offset + shape.NumElements() > ctx.inputs[0].shape.NumElements() ||
      AttrInt(ctx.op, "num_ranks") < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "slice [", offset, ", +", shape.NumElements(), ") of a bucket of ",
        ctx.inputs[0].shape.NumElements(), " over ", AttrInt(ctx.op, "num_ranks"), " ranks"));
  }
  return std::vector<BlobDesc>{{shape, DataType::kFloat}};
}

class WaitKernel : public Kernel {
 public:
  explicit WaitKernel(const KernelContext& ctx)
      : bucket_(ctx.in<float>(0)),
        slice_(bucket_ + AttrInt(ctx.op, "offset")),
        ranks_(static_cast<float>(AttrInt(ctx.op, "num_ranks"))),
        y_(ctx.out<float>(0)),
        n_(ctx.outputs[0].num_elements()) {}

  absl::Status Run() override {
    Communicator::World().Wait(bucket_);
    for (int64_t i = 0; i < n_; ++i) y_[i] = slice_[i] / ranks_;
    return absl::OkStatus();
  }

 private:
  const float* bucket_;
  const float* slice_;
  float ranks_;
  float* y_;
  int64_t n_;
};

REGISTER_OP("allreduce_start")
    .VariadicInput("grad")
    .Output("bucket")
    .ShapeFn(StartShape)
    .NoGradient()
    .Optimizer()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<StartKernel>(ctx);
    });

REGISTER_OP("allreduce_wait")
    .Input("bucket")
    .Output("y")
    .ShapeFn(WaitShape)
    .NoGradient()
    .Optimizer()
    .KernelFn([](const KernelContext& ctx) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      return std::make_unique<WaitKernel>(ctx);
    });

}  // namespace
}  // namespace flow

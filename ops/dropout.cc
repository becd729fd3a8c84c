// dropout: inverted dropout, OneFlow's flow.nn.dropout.
//   x: (any) f32; attrs rate (float in [0, 1)), seed (int64, optional)
//   → y: same shape f32, y = x · mask / (1 − rate)
//   → mask: same shape u8, 1 = kept (probability 1 − rate), 0 = dropped.
// Gradient: dropout_grad(dy, mask) → dx = dy · mask / (1 − rate) (attr rate).
//
// The random stream. key = CombineSeeds(seed attr, or else the session seed, StableHash64(op
// name)); element i of train step s keeps iff U32ToUniformFloat01(Philox4x32(key)(s, i / 4)[i % 4])
// >= rate. So a mask depends on (seed, step, op name, i) only: not on the thread count, not on the
// other ops of the job, and a run resumed from a snapshot (which restores the step counter) draws
// the masks the uninterrupted run would have. The step is the job's train-step counter read at
// Run() time (pre-increment: 0 on the first iteration). Without one (the op built directly into a
// predict job — nn::dropout never emits it there) the step is 0: a fixed mask, which is what the
// numerical gradient check relies on. Under mpirun, i is the element's index in the global batch
// (ExecEnv::shard; dropout's input is batch-major), so N ranks drop exactly the activations one
// process drops for the same global batch.
#include "ops/dropout.h"

#include <omp.h>

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "ops/elementwise.h"
#include "runtime/random.h"
#include "runtime/status.h"

namespace flow {

absl::Status CheckDropoutRate(float rate) {
  if (rate >= 0.f && rate < 1.f) return absl::OkStatus();  // NaN fails
  return absl::InvalidArgumentError(absl::StrCat("rate ", rate, " must be in [0, 1)"));
}

namespace {

absl::Status CheckRate(const ShapeContext& ctx) {
  const absl::Status status = CheckDropoutRate(AttrFloat(ctx.op, "rate"));
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(ctx.Where(), status.message()));
}

absl::StatusOr<std::vector<BlobDesc>> DropoutShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  FLOWRT_RETURN_IF_ERROR(CheckRate(ctx));
  return std::vector<BlobDesc>{ctx.inputs[0], {ctx.inputs[0].shape, DataType::kUInt8}};
}

void DropoutGrad(GradContext& ctx) {
  if (!ctx.needs_input_grad(0)) return;
  ctx.SetInputGrad(0, ctx.Op("dropout_grad")
                          .Input(ctx.output_grad(0))
                          .Input(ctx.output(1))
                          .Attr("rate", AttrFloat(ctx.op(), "rate"))
                          .Build1());
}

// Philox blocks (4 elements each) per parallel chunk: big enough that a thread's chunk amortizes
// the parallel region, small enough to split a LeNet activation over the cores.
constexpr int64_t kBlocksPerChunk = 1024;
// Blocks drawn at a time into a stack buffer (4 KiB of words) before they are applied.
constexpr int64_t kBlocksPerBatch = 256;

class DropoutKernel : public Kernel {
 public:
  DropoutKernel(const KernelContext& ctx, uint64_t key)
      : env_(&ctx.env),
        philox_(key),
        rate_(AttrFloat(ctx.op, "rate")),
        scale_(1.f / (1.f - rate_)),
        n_(ctx.outputs[0].num_elements()),
        x_(ctx.in<float>(0)),
        y_(ctx.out<float>(0)),
        mask_(ctx.out<uint8_t>(1)) {}

  absl::Status Run() override {
    const uint64_t step =
        env_->train_step != nullptr ? static_cast<uint64_t>(*env_->train_step) : 0;
    // Global element indices [base, base + n): a data-parallel rank draws the bits one process
    // draws for the same examples (base = 0 in one process).
    const int64_t base = env_->shard * n_;
    const int64_t first_block = base / 4, end_block = (base + n_ + 3) / 4;
    const int64_t blocks = end_block - first_block;
    const int64_t chunks = (blocks + kBlocksPerChunk - 1) / kBlocksPerChunk;
    const int threads = static_cast<int>(std::clamp<int64_t>(chunks, 1, omp_get_max_threads()));
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t chunk_end = std::min(end_block, first_block + (c + 1) * kBlocksPerChunk);
      for (int64_t b = first_block + c * kBlocksPerChunk; b < chunk_end; b += kBlocksPerBatch) {
        const int64_t count = std::min(kBlocksPerBatch, chunk_end - b);
        std::array<uint32_t, 4 * kBlocksPerBatch> words;
        philox_.Blocks(step, static_cast<uint64_t>(b), count, words.data());
        // The batch's global elements [lo, hi): words[g - 4b] is element g's word.
        const int64_t lo = std::max(4 * b, base), hi = std::min(4 * (b + count), base + n_);
        ApplyMask(words.data() + (lo - 4 * b), hi - lo, lo - base);
      }
    }
    return absl::OkStatus();
  }

 private:
  // Elements [first, first + count) from their words. Branch-free (the mask is a coin flip per
  // element, so a branch would mispredict half the time): x · (keep · scale) is x · scale or
  // x · 0, exactly what x · (keep ? scale : 0) gives, and a dropped NaN/inf stays NaN.
  void ApplyMask(const uint32_t* words, int64_t count, int64_t first) const {
    const float* x = x_ + first;
    float* y = y_ + first;
    uint8_t* mask = mask_ + first;
#pragma omp simd
    for (int64_t i = 0; i < count; ++i) {
      const bool keep = U32ToUniformFloat01(words[i]) >= rate_;
      mask[i] = keep;
      y[i] = x[i] * (static_cast<float>(keep) * scale_);
    }
  }

  const ExecEnv* env_;
  Philox4x32 philox_;
  float rate_;
  float scale_;
  int64_t n_;
  const float* x_;
  float* y_;
  uint8_t* mask_;
};

absl::StatusOr<std::unique_ptr<Kernel>> MakeDropoutKernel(const KernelContext& ctx) {
  const uint64_t seed = HasAttr(ctx.op, "seed") ? static_cast<uint64_t>(AttrInt(ctx.op, "seed"))
                                                : ctx.env.session_seed;
  return std::make_unique<DropoutKernel>(ctx, CombineSeeds(seed, StableHash64(ctx.op.name())));
}

// dropout_grad: dy (any) f32, mask (same shape) u8; attr rate → dx = dy · mask / (1 − rate).
absl::StatusOr<std::vector<BlobDesc>> DropoutGradShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  FLOWRT_RETURN_IF_ERROR(CheckRate(ctx));
  const BlobDesc mask{ctx.inputs[0].shape, DataType::kUInt8};
  if (!(ctx.inputs[1] == mask)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "input 'mask' is ", DataTypeName(ctx.inputs[1].dtype), " ",
                     ctx.inputs[1].shape.ToString(), ", expected kUInt8 ", mask.shape.ToString()));
  }
  return std::vector<BlobDesc>{ctx.inputs[0]};
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeDropoutGradKernel(const KernelContext& ctx) {
  const float scale = 1.f / (1.f - AttrFloat(ctx.op, "rate"));
  const float* dy = ctx.in<float>(0);
  const uint8_t* mask = ctx.in<uint8_t>(1);
  float* dx = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(
      ctx.outputs[0].num_elements(), [=](int64_t begin, int64_t end) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          // Branch-free, as in the forward: the mask is
          // 0 or 1, so this is dy · scale or dy · 0.
          dx[i] = dy[i] * (static_cast<float>(mask[i] != 0) * scale);
        }
      });
}

REGISTER_OP("dropout")
    .Input("x")
    .Output("y")
    .Output("mask")
    .ShapeFn(DropoutShape)
    .GradFn(DropoutGrad)
    .KernelFn(MakeDropoutKernel);
REGISTER_OP("dropout_grad")
    .Input("dy")
    .Input("mask")
    .Output("dx")
    .ShapeFn(DropoutGradShape)
    .NoGradient()
    .KernelFn(MakeDropoutGradKernel);

}  // namespace
}  // namespace flow

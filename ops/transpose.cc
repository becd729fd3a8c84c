// transpose: out = x with its axes permuted, out.shape[i] = x.shape[perm[i]]; float32, any rank;
// attr perm (a permutation of 0..rank−1; OneFlow's flow.transpose(a, perm)).
//   x (N, C, H, W), perm {0, 2, 3, 1} → out (N, H, W, C)
// Gradient: dx = transpose(dy, inverse(perm)).
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> TransposeShape(const ShapeContext& ctx) {
  if (auto status = ExpectFloat(ctx, 0); !status.ok()) return status;
  const Shape& x = ctx.inputs[0].shape;
  const std::vector<int64_t> perm = AttrInts(ctx.op, "perm");
  std::vector<bool> seen(x.rank(), false);
  bool ok = static_cast<int>(perm.size()) == x.rank();
  for (int64_t p : perm) {
    ok = ok && p >= 0 && p < x.rank() && !seen[p];
    if (ok) seen[p] = true;
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "perm {", absl::StrJoin(perm, ", "),
                                                   "} is not a permutation of the ", x.rank(),
                                                   " axes of input ", x.ToString()));
  }
  std::vector<int64_t> dims;
  for (int64_t p : perm) dims.push_back(x.dim(static_cast<int>(p)));
  return std::vector<BlobDesc>{{Shape(dims), kFloat}};
}

void TransposeGrad(GradContext& ctx) {
  const std::vector<int64_t> perm = AttrInts(ctx.op(), "perm");
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
  ctx.SetInputGrad(0, ctx.Op("transpose").Input(ctx.output_grad(0)).Attr("perm", inverse).Build1());
}

// Each output element reads x at Σ_i index_i · x_stride[perm[i]]: one pass over out, in
// parallel chunks of it.
absl::StatusOr<std::unique_ptr<Kernel>> MakeTransposeKernel(const KernelContext& ctx) {
  const Shape& x_shape = ctx.inputs[0].shape();
  const std::vector<int64_t> perm = AttrInts(ctx.op, "perm");
  const int rank = x_shape.rank();
  std::vector<int64_t> x_strides(rank, 1);
  for (int i = rank - 2; i >= 0; --i) x_strides[i] = x_strides[i + 1] * x_shape.dim(i + 1);
  std::vector<int64_t> out_dims(rank), read_strides(rank);
  for (int i = 0; i < rank; ++i) {
    out_dims[i] = x_shape.dim(static_cast<int>(perm[i]));
    read_strides[i] = x_strides[perm[i]];
  }
  const float* x = ctx.in<float>(0);
  float* out = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(
      ctx.outputs[0].num_elements(), [=](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          int64_t rest = o, offset = 0;
          for (int i = rank - 1; i >= 0; --i) {
            offset += (rest % out_dims[i]) * read_strides[i];
            rest /= out_dims[i];
          }
          out[o] = x[offset];
        }
      });
}

REGISTER_OP("transpose")
    .Input("x")
    .Output("out")
    .ShapeFn(TransposeShape)
    .GradFn(TransposeGrad)
    .KernelFn(MakeTransposeKernel);

}  // namespace
}  // namespace flow

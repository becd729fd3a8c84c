// concat: inputs joined along attr axis (negative counts from the end); float32; every input has
// the rank and the dims of the first but along axis (OneFlow's flow.concat(values, axis)).
//   a (N, 3, H, W), b (N, 5, H, W), axis 1 → out (N, 8, H, W)
// Gradient: each input gets its part of dout, cut out by concat_slice (attrs axis, begin, size).
// Kernels view every tensor as (outer, axis extent · inner) and copy whole rows.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "ops/elementwise.h"

namespace flow {
namespace {

// The product of x's dims before / from `axis` on.
int64_t Outer(const Shape& x, int axis) {
  int64_t n = 1;
  for (int i = 0; i < axis; ++i) n *= x.dim(i);
  return n;
}
int64_t RowSize(const Shape& x, int axis) {
  int64_t n = 1;
  for (int i = axis; i < x.rank(); ++i) n *= x.dim(i);
  return n;
}

absl::StatusOr<int> ResolveAxis(const ShapeContext& ctx, int rank) {
  const int64_t axis = AttrInt(ctx.op, "axis");
  if (axis < -rank || axis >= rank) {
    return absl::InvalidArgumentError(
        absl::StrCat(ctx.Where(), "axis ", axis, " is out of range for rank ", rank));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

absl::StatusOr<std::vector<BlobDesc>> ConcatShape(const ShapeContext& ctx) {
  const Shape& first = ctx.inputs[0].shape;
  absl::StatusOr<int> axis = ResolveAxis(ctx, first.rank());
  if (!axis.ok()) return axis.status();
  std::vector<int64_t> dims = first.dims();
  dims[*axis] = 0;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (auto status = ExpectFloat(ctx, static_cast<int>(i)); !status.ok()) return status;
    const Shape& s = ctx.inputs[i].shape;
    bool fits = s.rank() == first.rank();
    for (int d = 0; fits && d < s.rank(); ++d) fits = d == *axis || s.dim(d) == first.dim(d);
    if (!fits) {
      return absl::InvalidArgumentError(absl::StrCat(
          ctx.Where(), "input ", i, " has shape ", s.ToString(), " but input 0 has shape ",
          first.ToString(), ": they must agree on every axis but axis ", *axis));
    }
    dims[*axis] += s.dim(*axis);
  }
  return std::vector<BlobDesc>{{Shape(dims), kFloat}};
}

void ConcatGrad(GradContext& ctx) {
  const Shape out = ctx.output(0).shape();
  const int64_t attr = AttrInt(ctx.op(), "axis");
  const int axis = static_cast<int>(attr < 0 ? attr + out.rank() : attr);
  int64_t begin = 0;
  for (int i = 0; i < ctx.op().input_size(); ++i) {
    const int64_t size = ctx.input(i).shape().dim(axis);
    if (ctx.needs_input_grad(i)) {
      ctx.SetInputGrad(i, ctx.Op("concat_slice")
                              .Input(ctx.output_grad(0))
                              .Attr("axis", static_cast<int64_t>(axis))
                              .Attr("begin", begin)
                              .Attr("size", size)
                              .Build1());
    }
    begin += size;
  }
}

// out (outer, Σ rows): input i's rows land at column offset Σ_{j<i} row_j.
absl::StatusOr<std::unique_ptr<Kernel>> MakeConcatKernel(const KernelContext& ctx) {
  const int rank = ctx.outputs[0].shape().rank();
  const int64_t attr = AttrInt(ctx.op, "axis");
  const int axis = static_cast<int>(attr < 0 ? attr + rank : attr);
  const int64_t outer = Outer(ctx.outputs[0].shape(), axis);
  const int64_t out_row = RowSize(ctx.outputs[0].shape(), axis);
  std::vector<const float*> parts;
  std::vector<int64_t> rows, offsets;
  int64_t offset = 0;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    parts.push_back(ctx.in<float>(static_cast<int>(i)));
    rows.push_back(RowSize(ctx.inputs[i].shape(), axis));
    offsets.push_back(offset);
    offset += rows.back();
  }
  float* out = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(outer, [=](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      for (size_t i = 0; i < parts.size(); ++i) {
        std::memcpy(out + o * out_row + offsets[i], parts[i] + o * rows[i],
                    sizeof(float) * rows[i]);
      }
    }
  });
}

absl::StatusOr<std::vector<BlobDesc>> SliceShape(const ShapeContext& ctx) {
  std::vector<int64_t> dims = ctx.inputs[0].shape.dims();
  dims[AttrInt(ctx.op, "axis")] = AttrInt(ctx.op, "size");
  return std::vector<BlobDesc>{{Shape(dims), kFloat}};
}

// out (outer, size · inner) = dy's columns [begin · inner, (begin + size) · inner).
absl::StatusOr<std::unique_ptr<Kernel>> MakeSliceKernel(const KernelContext& ctx) {
  const int axis = static_cast<int>(AttrInt(ctx.op, "axis"));
  const Shape& dy_shape = ctx.inputs[0].shape();
  const int64_t outer = Outer(dy_shape, axis);
  const int64_t dy_row = RowSize(dy_shape, axis);
  const int64_t out_row = RowSize(ctx.outputs[0].shape(), axis);
  const int64_t start = AttrInt(ctx.op, "begin") * (dy_row / dy_shape.dim(axis));
  const float* dy = ctx.in<float>(0);
  float* out = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(outer, [=](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      std::memcpy(out + o * out_row, dy + o * dy_row + start, sizeof(float) * out_row);
    }
  });
}

REGISTER_OP("concat")
    .VariadicInput("values")
    .Output("out")
    .ShapeFn(ConcatShape)
    .GradFn(ConcatGrad)
    .KernelFn(MakeConcatKernel);
REGISTER_OP("concat_slice")
    .Input("dy")
    .Output("dx")
    .ShapeFn(SliceShape)
    .NoGradient()
    .KernelFn(MakeSliceKernel);

}  // namespace
}  // namespace flow

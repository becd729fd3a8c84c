// reshape: same bytes, new shape (C order); one dim may be -1 and is inferred.
//   x: any shape, attr shape → out: attr shape with -1 resolved. No kernel: out aliases x.
// Gradient: reshape dy back to x's shape.
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> ReshapeShape(const ShapeContext& ctx) {
  const BlobDesc& x = ctx.inputs[0];
  std::vector<int64_t> dims = AttrInts(ctx.op, "shape");
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < static_cast<int>(dims.size()); ++i) {
    if (dims[i] == -1 && infer < 0) {
      infer = i;
    } else if (dims[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          ctx.Where(), "target shape ", Shape(dims).ToString(), " has a negative dim or two -1s"));
    } else {
      known *= dims[i];
    }
  }
  const int64_t n = x.shape.NumElements();
  if (infer >= 0) {
    if (known == 0 || n % known != 0) {
      return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "cannot reshape input ",
                                                     x.shape.ToString(), " to ",
                                                     Shape(dims).ToString()));
    }
    dims[infer] = n / known;
  } else if (known != n) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "cannot reshape input ",
                                                   x.shape.ToString(), " (", n, " elements) to ",
                                                   Shape(dims).ToString()));
  }
  return std::vector<BlobDesc>{{Shape(dims), x.dtype}};
}

void ReshapeGrad(GradContext& ctx) {
  ctx.SetInputGrad(0, ctx.Op("reshape")
                          .Input(ctx.output_grad(0))
                          .Attr("shape", ctx.input(0).shape().dims())
                          .Build1());
}

REGISTER_OP("reshape")
    .Input("x")
    .Output("out")
    .ShapeFn(ReshapeShape)
    .GradFn(ReshapeGrad)
    .AliasesInput();

}  // namespace
}  // namespace flow

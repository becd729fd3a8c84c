// "variable": a session variable as a blob. No kernel: the executor binds its output to the
// variable's persistent storage, so forward ops read it and optimizer ops update it in place.
//   out: attr shape, attr dtype
#include "framework/attr.h"
#include "framework/op_registry.h"

namespace flow {
namespace {

absl::StatusOr<std::vector<BlobDesc>> StoredShape(const ShapeContext& ctx) {
  return std::vector<BlobDesc>{{Shape(AttrInts(ctx.op, "shape")), AttrDataType(ctx.op, "dtype")}};
}

REGISTER_OP("variable").Output("out").ShapeFn(StoredShape).NoGradient().Variable();
// "input": a placeholder, fed by the executor before the first kernel runs.
REGISTER_OP("input").Output("out").ShapeFn(StoredShape).NoGradient().Placeholder();

}  // namespace
}  // namespace flow

#include "ops/optimizer_updates.h"

#include "absl/strings/str_cat.h"

namespace flow {

flow::ShapeFn UpdateShape(int weight_shaped) {
  return [weight_shaped](const ShapeContext& ctx) -> absl::StatusOr<std::vector<BlobDesc>> {
    const int n = static_cast<int>(ctx.inputs.size());
    for (int i = 0; i < n; ++i) {
      if (auto s = ExpectFloat(ctx, i); !s.ok()) return s;
      const Shape want = i < weight_shaped ? ctx.inputs[0].shape : Shape({1});
      if (ctx.inputs[i].shape != want) {
        return absl::InvalidArgumentError(
            absl::StrCat(ctx.Where(), "input ", ctx.op.input(i), " has shape ",
                         ctx.inputs[i].shape.ToString(), ", expected ", want.ToString()));
      }
    }
    return std::vector<BlobDesc>{};
  };
}

}  // namespace flow

#include "ops/optimizer_updates.h"

#include "absl/strings/str_cat.h"

namespace flow {

absl::StatusOr<std::vector<BlobDesc>> UpdateShape(const ShapeContext& ctx) {
  const int n = static_cast<int>(ctx.inputs.size());
  for (int i = 0; i < n; ++i) {
    if (auto s = ExpectFloat(ctx, i); !s.ok()) return s;
    const Shape want = i == n - 1 ? Shape({1}) : ctx.inputs[0].shape;
    if (ctx.inputs[i].shape != want) {
      return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input ", ctx.op.input(i),
                                                     " has shape ", ctx.inputs[i].shape.ToString(),
                                                     ", expected ", want.ToString()));
    }
  }
  return std::vector<BlobDesc>{};
}

}  // namespace flow

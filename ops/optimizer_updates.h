// Shape checks shared by the in-place optimizer update ops (sgd_update, momentum_update).
#pragma once

#include "ops/op_registry.h"

namespace flow {

// inputs: weight, [slots...], grad, lr — every tensor but lr has weight's shape, lr is (1,) f32.
absl::StatusOr<std::vector<BlobDesc>> UpdateShape(const ShapeContext& ctx);

// g' = g·scale + l1·sign(w) + l2·w: the regularized, unscaled gradient of element i.
inline float RegularizedGrad(float g, float w, float scale, float l1, float l2) {
  return g * scale + l1 * static_cast<float>((w > 0.f) - (w < 0.f)) + l2 * w;
}

}  // namespace flow

// Shape checks shared by the in-place optimizer update ops (sgd_update, momentum_update).
#pragma once

#include <cstdint>

#include "framework/op_registry.h"

namespace flow {

// inputs: weight, [slots...], grad, lr, [grad_scale]. The first `weight_shaped` inputs (weight,
// slots, grad) have weight's shape; lr and the optional grad_scale are (1,). All kFloat.
flow::ShapeFn UpdateShape(int weight_shaped);

// The factor the update multiplies its raw gradient by: the attr `scale` (1/loss_scale_factor),
// times the optional grad_scale input (clip_by_global_norm_coefficient's output, which already
// holds the unscale: the update then has scale 1). Read at Run() time.
inline float GradScale(float scale, const float* grad_scale) {
  return grad_scale == nullptr ? scale : scale * *grad_scale;
}

// g' = g·scale + l1·sign(w) + l2·w: the regularized, unscaled gradient of element i.
inline float RegularizedGrad(float g, float w, float scale, float l1, float l2) {
  return g * scale + l1 * static_cast<float>((w > 0.f) - (w < 0.f)) + l2 * w;
}

// sgd_update's step over elements [begin, end): w ← w − rate · RegularizedGrad(g, w). One loop for
// sgd_update and for the fused dense_grad_weight_sgd_update's sgemm path, so the two round alike.
inline void SgdStep(float* w, const float* g, int64_t begin, int64_t end, float rate, float scale,
                    float l1, float l2) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) w[i] -= rate * RegularizedGrad(g[i], w[i], scale, l1, l2);
}

}  // namespace flow

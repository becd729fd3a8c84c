// Job-side math helpers (OneFlow's flow.reshape, flow.math.*): each emits one op into the job
// being recorded and returns its output blob.
#pragma once

#include <vector>

#include "graph/blob.h"

namespace flow {

// C-order reshape; one dim may be -1. (100, 1, 28, 28) → reshape(x, {100, -1}) → (100, 784).
Blob reshape(const Blob& x, const std::vector<int64_t>& shape, absl::string_view name = "reshape");
// Element-wise a + b (same shape, float32).
Blob add(const Blob& a, const Blob& b);
// A float32 blob of x's shape filled with value.
Blob fill_like(const Blob& x, float value);
inline Blob ones_like(const Blob& x) { return fill_like(x, 1.f); }
inline Blob zeros_like(const Blob& x) { return fill_like(x, 0.f); }

}  // namespace flow

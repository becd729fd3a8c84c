// Job-side math helpers (OneFlow's flow.reshape, flow.math.*, flow.nn.bias_add): each emits one
// op into the job being recorded and returns its output blob.
//
//   flow::Blob logits = flow::nn::bias_add(flow::math::matmul(x, w), b);    // (N, 10)
//   flow::Blob hits = flow::math::argmax(logits);                          // (N,) int32
//   flow::Blob loss = flow::math::reduce_mean(per_example_loss);           // ()
#pragma once

#include <vector>

#include "framework/blob.h"

namespace flow {

// C-order reshape; one dim may be -1. (100, 1, 28, 28) → reshape(x, {100, -1}) → (100, 784).
Blob reshape(const Blob& x, const std::vector<int64_t>& shape, absl::string_view name = "reshape");
// Element-wise a + b (same shape, float32).
Blob add(const Blob& a, const Blob& b);
// A float32 blob of x's shape filled with value.
Blob fill_like(const Blob& x, float value);
inline Blob ones_like(const Blob& x) { return fill_like(x, 1.f); }

// Inputs joined along `axis` (negative counts from the end): every input has the rank and dims
// of the first but along axis. (N, 3, H, W) and (N, 5, H, W) on axis 1 → (N, 8, H, W).
Blob concat(const std::vector<Blob>& values, int64_t axis, absl::string_view name = "concat");
// Axes permuted: out.shape[i] = x.shape[perm[i]]. (N, C, H, W), {0, 2, 3, 1} → (N, H, W, C).
Blob transpose(const Blob& x, const std::vector<int64_t>& perm,
               absl::string_view name = "transpose");

namespace math {

// op(a) · op(b), op(t) = tᵀ when transposed; rank 2, float32.
// a (M, K) [or (K, M) with transpose_a], b (K, N) [or (N, K) with transpose_b] → (M, N).
Blob matmul(const Blob& a, const Blob& b, bool transpose_a = false, bool transpose_b = false,
            absl::string_view name = "matmul");
// Element-wise a · b (same shape, float32; no broadcasting).
Blob multiply(const Blob& a, const Blob& b, absl::string_view name = "multiply");
// Element-wise a − b and a / b (same shape, float32; no broadcasting). x / 0 is ±inf.
Blob subtract(const Blob& a, const Blob& b, absl::string_view name = "subtract");
Blob divide(const Blob& a, const Blob& b, absl::string_view name = "divide");
// Element-wise eˣ, ln x, √x, x² and |x| (float32, any shape); ln and √ of negatives are NaN.
Blob exp(const Blob& x, absl::string_view name = "exp");
Blob log(const Blob& x, absl::string_view name = "log");
Blob sqrt(const Blob& x, absl::string_view name = "sqrt");
Blob square(const Blob& x, absl::string_view name = "square");
Blob abs(const Blob& x, absl::string_view name = "abs");
// min(max(x, min_value), max_value); min_value > max_value is an error. The gradient passes where
// min_value ≤ x ≤ max_value. (OneFlow's flow.clip_by_value.)
Blob clip_by_value(const Blob& x, float min_value, float max_value,
                   absl::string_view name = "clip_by_value");
// x · scalar (OneFlow's flow.math.multiply with a Python number; op scalar_mul).
Blob multiply(const Blob& x, float scalar, absl::string_view name = "scalar_mul");
// Sum / mean over `axes` (negative counts from the end; empty = every axis). keepdims keeps the
// reduced axes as 1: (N, C, H, W) over {0, 2, 3} → (C,), or (1, C, 1, 1).
Blob reduce_sum(const Blob& x, const std::vector<int64_t>& axes = {}, bool keepdims = false,
                absl::string_view name = "reduce_sum");
Blob reduce_mean(const Blob& x, const std::vector<int64_t>& axes = {}, bool keepdims = false,
                 absl::string_view name = "reduce_mean");
// Largest element over `axes` (empty = every axis), as reduce_sum; NaN propagates. The gradient
// splits evenly among ties.
Blob reduce_max(const Blob& x, const std::vector<int64_t>& axes = {}, bool keepdims = false,
                absl::string_view name = "reduce_max");
// Index of the largest element over the last axis, int32: (..., C) → (...). Ties pick the first
// index. Not differentiable.
Blob argmax(const Blob& x, absl::string_view name = "argmax");

}  // namespace math

namespace nn {

// x + b along the channel axis (OneFlow's flow.nn.bias_add), b (C,). data_format "" or "NC…"
// (e.g. "NCHW", "NC"; OneFlow's default None) adds along axis 1; "N…C" (e.g. "NHWC") along the
// last axis; other formats are an error. Gradient: db sums dy over every other axis.
Blob bias_add(const Blob& x, const Blob& b, absl::string_view data_format = "NCHW",
              absl::string_view name = "bias_add");

}  // namespace nn
}  // namespace flow

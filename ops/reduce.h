// What reduce_sum, reduce_mean and broadcast_to (their gradient) share: axis validation, shape
// inference and the two strided kernels. The kernels first group the dims into maximal runs of
// marked (reduced / broadcast) and kept axes, so the loops see at most a few dims:
//
//   x (N, C, H, W) reduced over axes {0, 2, 3}  →  runs {N, C, H·W}, marked {1, 0, 1}
//   out (C,)
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "framework/op_registry.h"
#include "runtime/kernel.h"

namespace flow {

// Checks `axes` against `shape` (each in [−rank, rank), none repeated) and returns them in
// [0, rank), sorted; empty `axes` means every axis. Errors name the op, the axes and the shape.
absl::StatusOr<std::vector<int64_t>> NormalizeAxes(const ShapeContext& ctx, const Shape& shape,
                                                   const std::vector<int64_t>& axes);
// The same for an op whose shape inference already succeeded (gradient rules, kernel factories).
std::vector<int64_t> NormalizedAxes(const std::vector<int64_t>& axes, int rank);

// Shape function of reduce_sum / reduce_mean: x (float32, any shape), attrs axes, keepdims →
// x's shape without the reduced axes (or with them set to 1 when keepdims).
absl::StatusOr<std::vector<BlobDesc>> ReduceShape(const ShapeContext& ctx);

// out = scale · Σ over `axes` of x, where x is input 0 and out output 0 (x's kept dims, in
// order; keepdims does not change the bytes). `axes` normalized. Sums whole rows in SIMD partial
// sums and the full reduction in double.
std::unique_ptr<Kernel> MakeReduceKernel(const KernelContext& ctx, const std::vector<int64_t>& axes,
                                         float scale);

// out = x repeated along `axes` of out (normalized), where x is input 0 with out's shape minus
// those axes (or with them set to 1).
std::unique_ptr<Kernel> MakeBroadcastKernel(const KernelContext& ctx,
                                            const std::vector<int64_t>& axes);

}  // namespace flow

// Kernels for oneDNN eltwise ops (sigmoid, tanh): a tensor of any shape is viewed as a flat (n,)
// vector, since an element-wise op does not care about dims.
//
//   .KernelFn([](const KernelContext& ctx) {
//     return MakeDnnlEltwiseForward(ctx, dnnl::algorithm::eltwise_logistic_use_dst_for_bwd);
//   })
//
// Only the *_use_dst_for_bwd algorithms are meant here: the backward kernel takes (dy, y), so the
// forward input need not stay alive until backward.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "runtime/kernel.h"

namespace flow {

// inputs: x (any) → outputs: y (same shape) = f(x).
absl::StatusOr<std::unique_ptr<Kernel>> MakeDnnlEltwiseForward(const KernelContext& ctx,
                                                               dnnl::algorithm algorithm);
// inputs: dy (any), y (same shape) → outputs: dx (same shape) = dy · f'(x), f' computed from y.
absl::StatusOr<std::unique_ptr<Kernel>> MakeDnnlEltwiseBackward(const KernelContext& ctx,
                                                                dnnl::algorithm algorithm);

}  // namespace flow

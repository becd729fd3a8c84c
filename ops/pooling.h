// What max_pool2d and avg_pool2d (ops/max_pool2d.cc, ops/avg_pool2d.cc) share: their attributes,
// checked once in the shape functions, and the oneDNN pooling descriptors their forward and
// backward kernels build from them.
//
//   // x (N, C, H, W), attrs ksize [kh, kw], strides [sh, sw], pad_before [ph, pw],
//   // pad_after [ph, pw]:
//   FLOWRT_ASSIGN_OR_RETURN(PoolGeometry g, PoolGeometryOf(ctx, ctx.inputs[0].shape));  // shape fn
//   g.y_shape();                                                                // (N, C, OH, OW)
//   auto pd = PoolForwardDesc(g, dnnl::algorithm::pooling_max);                 // kernel
//
// Window semantics are oneDNN's, which are OneFlow's: a padded position never wins a max (oneDNN
// pads with -inf) and never counts in an average (pooling_avg_exclude_padding divides by the
// number of real input cells under the window, as OneFlow's CPU kernel and TensorFlow do).
// Pads must be smaller than the window, so every window covers at least one real cell.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "framework/op_registry.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/dnnl_kernel.h"
#include "runtime/shape.h"
#include "runtime/tensor.h"

namespace flow {

struct PoolGeometry {
  Shape x;  // (N, C, H, W)
  int64_t kernel[2] = {1, 1};
  int64_t strides[2] = {1, 1};
  int64_t pad_before[2] = {0, 0};
  int64_t pad_after[2] = {0, 0};
  int64_t out[2] = {0, 0};  // OH, OW = floor((in + before + after − k) / stride) + 1

  Shape y_shape() const { return Shape({x[0], x[1], out[0], out[1]}); }
};

// Reads and checks the attrs against input shape `x` (an error names the op, the attr and the
// shapes): rank-4 float input, two positive kernel sizes and strides, pads in [0, kernel).
absl::StatusOr<PoolGeometry> PoolGeometryOf(const ShapeContext& ctx, const Shape& x);
// Kernel-time variant: attrs were already checked by the shape function (CHECK-fails if not).
PoolGeometry PoolGeometryOf(const flowrt::OpConf& op, const Shape& x);

// The layout pooling computes in: blocked whenever the shape allows (oneDNN's jit pooling is
// fastest there, and with plain NCHW it transposes through a scratchpad anyway). It depends on
// the shape only, so the forward op, its gradient and the workspace size in the shape function
// all agree on it; a kernel reorders a tensor stored otherwise (DnnlKernel::Input/Output).
Layout PoolComputeLayout(const PoolGeometry& g);

// The forward primitive descriptor over f32 memory in PoolComputeLayout. prop_kind
// forward_training: max pooling then records each window's argmax in a workspace for the
// backward pass. User-mode scratchpad, allocated once by the kernel (DnnlKernel::Add).
// `prop_kind` forward_inference (no gradient will be taken: the workspace is unread) keeps no
// argmax and is faster (oneDNN AVX2, pool1 of LeNet: 4.8 against 9.7 ms, issue 19).
dnnl::pooling_forward::primitive_desc PoolForwardDesc(
    const PoolGeometry& g, dnnl::algorithm algorithm,
    dnnl::prop_kind prop_kind = dnnl::prop_kind::forward_training);
// Whether max pooling's workspace (PoolForwardDesc's, forward_training) holds, per output, the
// window's argmax as one u8 in the blocked order of y with BlockedChannels() lanes: the format
// flowrt's own kernels read and write (ops/max_pool2d_blocked_kernel.h).
bool WorkspaceIsBlockedArgmax(const PoolGeometry& g);
// The backward primitive descriptor, with the forward one as hint (as oneDNN requires).
dnnl::pooling_backward::primitive_desc PoolBackwardDesc(
    const PoolGeometry& g, dnnl::algorithm algorithm,
    const dnnl::pooling_forward::primitive_desc& hint);

// The data arguments of a pooling primitive over a kernel's bound tensors — forward x → y
// (DNNL_ARG_SRC, DNNL_ARG_DST), backward dy → dx (DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC) — each
// reordered through `kernel` when stored otherwise than the primitive computes.
std::vector<std::pair<int, dnnl::memory>> PoolForwardArgs(
    DnnlKernel& kernel, const KernelContext& ctx, const PoolGeometry& g,
    const dnnl::pooling_forward::primitive_desc& pd);
std::vector<std::pair<int, dnnl::memory>> PoolBackwardArgs(
    DnnlKernel& kernel, const KernelContext& ctx, const PoolGeometry& g,
    const dnnl::pooling_backward::primitive_desc& pd);

}  // namespace flow

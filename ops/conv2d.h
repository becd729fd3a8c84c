// What ops/conv2d.cc shares with the ops fused from it (ops/conv2d_max_pool2d.cc).
#pragma once

#include <cstdint>

#include "oneapi/dnnl/dnnl.hpp"
#include "ops/conv2d_direct_forward_kernel.h"
#include "proto/job.pb.h"
#include "runtime/shape.h"

namespace flow {

// The forward primitive conv2d's kernel runs for op (its attrs, with the fused activation) over
// n images of x (N, C, H, W) → y (N, O, OH, OW), weight (O, C/groups, KH, KW), with or without a
// bias; forward_training in train jobs. Formats are oneDNN's choice (format_tag::any), the
// scratchpad the caller's. A fused op running it on parts of the batch computes conv2d's bits:
// each output sums over its own window and channels only.
dnnl::convolution_forward::primitive_desc Conv2dForwardPd(const flowrt::OpConf& op, const Shape& x,
                                                          const Shape& w, const Shape& y, bool bias,
                                                          bool is_train, int64_t n);

// The geometry of op's convolution of x (N, 1, H, W) → y (N, O, OH, OW) for DirectConvForward
// (UseDirectConvForward must hold).
ConvForwardGeometry DirectForwardGeometry(const flowrt::OpConf& op, const Shape& x, const Shape& w,
                                          const Shape& y);

}  // namespace flow

// A compile-time fusion: a convolution whose output only a max pooling reads runs image by image
// into the pooling, so the convolution's output (LeNet's conv1: 100×32×28×28, 10 MB) is never
// written to memory and read back.
//
//   before:  c = conv2d(x, weight[, bias])                  c (N, C, H, W)
//            y, workspace = max_pool2d(c)
//   after:   y, workspace = conv2d_max_pool2d(x, weight[, bias])
//            (the convolution's name, in the pooling's place; ops/conv2d_max_pool2d.cc)
//
// A match needs c to have no other reader: in a train job it runs after
// relu_grad_before_max_pool_grad, which makes the ReLU's gradient read the pooled y instead of c
// (LeNet: conv1 and conv2 then match, conv2's pooled output feeding dense1). Exact, bit for bit
// (the op's file says why).
#pragma once

#include "proto/job.pb.h"

namespace flow {

// Rewrites every match in `job`; returns how many.
int FuseConv2dIntoMaxPool2d(flowrt::JobConf* job);

}  // namespace flow

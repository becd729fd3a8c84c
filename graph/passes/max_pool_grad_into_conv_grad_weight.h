// A compile-time fusion of train jobs: a convolution whose output is max-pooled takes its weight
// gradient straight from the pooling gradient, image by image, so the pooling gradient (LeNet's
// pool1: 100×32×28×28, 10 MB) is never written to memory and read back.
//
//   before:  dx = max_pool2d_grad(dy, workspace[, relu_y])      dx (N, C, H, W)
//            dW, db = conv2d_grad_weight(dx, x)
//   after:   dW, db = max_pool2d_grad_conv2d_grad_weight(dy, workspace, x[, relu_y])
//            (in the weight gradient's place; the op: ops/max_pool2d_grad_conv2d_grad_weight.cc)
//
// A match needs dx to have no other reader: a convolution whose input needs a gradient too
// (conv2d_grad_data reads dx) keeps the two ops. LeNet's conv1 reads the images, so its pooling
// gradient feeds the weight gradient only. Exact, bit for bit (the op's file says why).
#pragma once

#include "proto/job.pb.h"

namespace flow {

// Rewrites every match in `job`; returns how many.
int FuseMaxPoolGradIntoConvGradWeight(flowrt::JobConf* job);

}  // namespace flow

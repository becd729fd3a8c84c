// A compile-time fusion of train jobs: a ReLU gradient whose only reader is a max-pool gradient
// is applied inside that gradient's kernel, which already writes every dx cell once.
//
//   before:  m = relu_grad(g, y);  dx = max_pool2d_grad(m, ws)     g, y, m (N, C, OH, OW)
//   after:   dx = max_pool2d_grad(g, ws, y)                        dx (N, C, H, W)
//
// It follows MoveReluGradBeforeMaxPoolGrad (relu_grad_before_max_pool_grad.h), which produces
// exactly this pattern with y the pooled ReLU output. Exact, bit for bit: the fused kernel masks
// each window's gradient by y > 0 with relu_grad's own select (+0 otherwise) before routing it
// (ops/max_pool2d.cc). It saves m's write and read-back and one op: in LeNet's train job (both
// conv chains, 1 thread, Zen 3) the pool gradients and their relu_grads took 2.9 ms per step, the
// fused pool gradients 2.6 (pool1's chain gains 0.35 ms, pool2's is even; interleaved A/B of the
// session option).
#pragma once

#include "proto/job.pb.h"

namespace flow {

// Rewrites every match in `job` (the relu_grad op disappears); returns how many. A match needs
// m to have no other reader and the pool gradient not to be fused already.
int FuseReluGradIntoMaxPoolGrad(flowrt::JobConf* job);

}  // namespace flow

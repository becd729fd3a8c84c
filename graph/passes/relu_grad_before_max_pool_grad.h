// A compile-time rewrite of train jobs: the gradient of a ReLU whose output feeds a max pooling
// is applied to the pooled gradient instead of the full-size one.
//
//   before:  dx = relu_grad(max_pool2d_grad(g, ws), y)         y = relu(...) (N, C, H, W),
//   after:   dx = max_pool2d_grad(relu_grad(g, pool_y), ws)    pool_y, g (N, C, OH, OW)
//
// Exact, bit for bit: max_pool2d_grad sends each g to the cell p that won its window, whose value
// y[p] is that window's pool_y, so masking by pool_y > 0 before the routing keeps the same terms
// as masking by y[p] > 0 after it, and the non-winning cells are 0 either way. The mask then
// reads and writes a quarter of the bytes (2×2 windows): in LeNet both conv ReLUs meet this
// pattern, and their relu_grads were ~10% of a training step.
#pragma once

#include "proto/job.pb.h"

namespace flow {

// Rewrites every match in `job` (ops stay in a valid execution order); returns how many.
// A match needs the full-size gradient to have no other reader and the pooling to read y itself.
int MoveReluGradBeforeMaxPoolGrad(flowrt::JobConf* job);

}  // namespace flow

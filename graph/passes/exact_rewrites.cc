#include "graph/passes/exact_rewrites.h"

#include "graph/passes/conv2d_into_max_pool2d.h"
#include "graph/passes/max_pool_grad_into_conv_grad_weight.h"
#include "graph/passes/relu_grad_before_max_pool_grad.h"
#include "graph/passes/relu_grad_into_max_pool_grad.h"
#include "graph/passes/sgd_update_into_dense_grad_weight.h"

namespace flow {

int RunExactRewrites(const ExactRewrites& options, flowrt::JobConf* job) {
  int rewrites = 0;
  if (options.relu_grad_before_max_pool_grad) rewrites += MoveReluGradBeforeMaxPoolGrad(job);
  if (options.relu_grad_into_max_pool_grad) rewrites += FuseReluGradIntoMaxPoolGrad(job);
  if (options.conv2d_into_max_pool2d) rewrites += FuseConv2dIntoMaxPool2d(job);
  if (options.max_pool_grad_into_conv_grad_weight) {
    rewrites += FuseMaxPoolGradIntoConvGradWeight(job);
  }
  if (options.sgd_update_into_dense_grad_weight && SgdUpdateIntoDenseGradWeightPays()) {
    rewrites += FuseSgdUpdateIntoDenseGradWeight(job);
  }
  return rewrites;
}

}  // namespace flow

#include "graph/passes/relu_grad_into_max_pool_grad.h"

#include <set>
#include <string>

#include "graph/passes/job_uses.h"

namespace flow {

int FuseReluGradIntoMaxPoolGrad(flowrt::JobConf* job) {
  const JobUses uses(*job);
  std::set<int> fused_relu_grads;  // op indices to drop
  for (flowrt::OpConf& pool_grad : *job->mutable_op()) {
    if (pool_grad.type() != "max_pool2d_grad" || pool_grad.input_size() != 2) continue;
    const std::string m = pool_grad.input(0);
    const flowrt::OpConf* relu_grad = uses.Producer(*job, m, "relu_grad");
    if (relu_grad == nullptr || uses.Readers(m) != 1) continue;
    // The relu_grad runs before its reader, so its inputs exist where the pool gradient runs.
    pool_grad.set_input(0, relu_grad->input(0));
    pool_grad.add_input(relu_grad->input(1));
    fused_relu_grads.insert(uses.producer.at(m));
  }
  EraseOps(fused_relu_grads, job);
  return static_cast<int>(fused_relu_grads.size());
}

}  // namespace flow

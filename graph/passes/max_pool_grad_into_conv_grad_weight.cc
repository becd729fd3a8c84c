#include "graph/passes/max_pool_grad_into_conv_grad_weight.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/passes/job_uses.h"

namespace flow {

int FuseMaxPoolGradIntoConvGradWeight(flowrt::JobConf* job) {
  const JobUses uses(*job);
  std::set<int> fused_pool_grads;  // op indices to drop
  for (flowrt::OpConf& grad : *job->mutable_op()) {
    if (grad.type() != "conv2d_grad_weight") continue;
    const std::string dx = grad.input(0), x = grad.input(1);
    const flowrt::OpConf* pool_grad = uses.Producer(*job, dx, "max_pool2d_grad");
    if (pool_grad == nullptr || uses.Readers(dx) != 1) continue;
    // The pooling gradient runs before its reader, so its inputs exist where this one runs.
    grad.set_type("max_pool2d_grad_conv2d_grad_weight");
    grad.clear_input();
    for (const std::string& in : {pool_grad->input(0), pool_grad->input(1), x}) grad.add_input(in);
    if (pool_grad->input_size() > 2) grad.add_input(pool_grad->input(2));  // relu_y
    for (const auto& [name, value] : pool_grad->attr()) {
      (*grad.mutable_attr())[absl::StrCat("pool_", name)] = value;
    }
    fused_pool_grads.insert(uses.producer.at(dx));
  }
  EraseOps(fused_pool_grads, job);
  return static_cast<int>(fused_pool_grads.size());
}

}  // namespace flow

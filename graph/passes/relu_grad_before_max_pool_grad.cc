#include "graph/passes/relu_grad_before_max_pool_grad.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "graph/passes/job_uses.h"

namespace flow {
namespace {

// Rewrites the first match; false if there is none.
bool RewriteOne(flowrt::JobConf* job) {
  const JobUses uses(*job);
  for (int r = 0; r < job->op_size(); ++r) {
    const flowrt::OpConf& relu_grad = job->op(r);
    if (relu_grad.type() != "relu_grad") continue;
    const std::string& dy = relu_grad.input(0);
    const std::string& y = relu_grad.input(1);
    const flowrt::OpConf* pool_grad = uses.Producer(*job, dy, "max_pool2d_grad");
    if (pool_grad == nullptr || uses.Readers(dy) != 1) continue;
    const flowrt::OpConf* pool = uses.Producer(*job, pool_grad->input(1), "max_pool2d");
    if (pool == nullptr || pool->input(0) != y) continue;

    // mask: relu_grad(g, pool_y) → "<relu_grad>/pooled_dx"; routed: max_pool2d_grad(mask, ws)
    // writes relu_grad's old output, so every later reader is unchanged.
    flowrt::OpConf mask = relu_grad;
    mask.set_input(0, pool_grad->input(0));
    mask.set_input(1, pool->output(0));
    mask.set_output(0, absl::StrCat(relu_grad.name(), "/pooled_dx"));
    flowrt::OpConf routed = *pool_grad;
    routed.set_input(0, mask.output(0));
    routed.set_output(0, relu_grad.output(0));

    const int p = uses.producer.at(dy);  // p < r: the pool gradient ran first
    google::protobuf::RepeatedPtrField<flowrt::OpConf> ops;
    for (int i = 0; i < job->op_size(); ++i) {
      if (i == p) {
        *ops.Add() = mask;
        *ops.Add() = routed;
      } else if (i != r) {
        *ops.Add() = job->op(i);
      }
    }
    job->mutable_op()->Swap(&ops);
    return true;
  }
  return false;
}

}  // namespace

int MoveReluGradBeforeMaxPoolGrad(flowrt::JobConf* job) {
  int rewrites = 0;
  while (RewriteOne(job)) ++rewrites;
  return rewrites;
}

}  // namespace flow

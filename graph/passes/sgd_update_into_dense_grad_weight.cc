#include "graph/passes/sgd_update_into_dense_grad_weight.h"

#include <set>
#include <string>

#include "graph/passes/job_uses.h"
#include "runtime/layout.h"

namespace flow {

int FuseSgdUpdateIntoDenseGradWeight(flowrt::JobConf* job) {
  const JobUses uses(*job);
  std::set<int> dropped;  // dense_grad_weight ops whose bias gradient nobody reads
  int fused = 0;
  for (flowrt::OpConf& update : *job->mutable_op()) {
    if (update.type() != "sgd_update" || update.input_size() != 3) continue;
    const std::string dw = update.input(1);
    const flowrt::OpConf* grad = uses.Producer(*job, dw, "dense_grad_weight");
    if (grad == nullptr || grad->output(0) != dw || uses.Readers(dw) != 1) continue;
    const std::string dy = grad->input(0), x = grad->input(1), db = grad->output(1);
    const std::string weight = update.input(0), lr = update.input(2);
    update.set_type("dense_grad_weight_sgd_update");
    update.clear_input();
    for (const std::string& in : {weight, dy, x, lr}) update.add_input(in);
    const int grad_index = uses.producer.at(dw);
    if (uses.Readers(db) == 0) {
      dropped.insert(grad_index);
    } else {
      flowrt::OpConf& bias = *job->mutable_op(grad_index);
      bias.set_type("dense_grad_bias");
      bias.clear_input();
      bias.add_input(dy);
      bias.clear_output();
      bias.add_output(db);
    }
    ++fused;
  }
  EraseOps(dropped, job);
  return fused;
}

bool SgdUpdateIntoDenseGradWeightPays() { return BlockedChannels() == 16; }

}  // namespace flow

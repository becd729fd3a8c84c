#include "graph/passes/conv2d_into_max_pool2d.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/passes/job_uses.h"

namespace flow {

int FuseConv2dIntoMaxPool2d(flowrt::JobConf* job) {
  const JobUses uses(*job);
  std::set<int> fused_convs;  // op indices to drop
  for (flowrt::OpConf& pool : *job->mutable_op()) {
    if (pool.type() != "max_pool2d") continue;
    const std::string c = pool.input(0);
    const flowrt::OpConf* conv = uses.Producer(*job, c, "conv2d");
    if (conv == nullptr || uses.Readers(c) != 1) continue;
    // The convolution runs before its reader, so its inputs exist where the pooling runs.
    flowrt::OpConf fused = *conv;
    fused.set_type("conv2d_max_pool2d");
    fused.clear_output();
    for (const std::string& out : pool.output()) fused.add_output(out);
    for (const auto& [name, value] : pool.attr()) {
      (*fused.mutable_attr())[absl::StrCat("pool_", name)] = value;
    }
    pool = std::move(fused);
    fused_convs.insert(uses.producer.at(c));
  }
  EraseOps(fused_convs, job);
  return static_cast<int>(fused_convs.size());
}

}  // namespace flow

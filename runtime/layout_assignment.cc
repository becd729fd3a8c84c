#include "runtime/layout_assignment.h"

#include <algorithm>
#include <vector>

#include "runtime/layout.h"
#include "runtime/status.h"

namespace flow {
namespace {

bool Contains(const std::vector<int>& indices, int i) {
  return std::find(indices.begin(), indices.end(), i) != indices.end();
}

}  // namespace

std::set<std::string> BlockedBlobs(const flowrt::JobConf& job,
                                   const std::vector<const KernelDef*>& defs,
                                   const std::map<std::string, BlobDesc>& descs) {
  FLOWRT_CHECK_EQ(defs.size(), static_cast<size_t>(job.op_size()));
  auto blockable = [&](const std::string& blob) {
    const BlobDesc& desc = descs.at(blob);
    return desc.dtype == DataType::kFloat && CanBlock(desc.shape);
  };

  // Candidates: outputs an op may produce blocked.
  std::set<std::string> blocked;
  for (int j = 0; j < job.op_size(); ++j) {
    const flowrt::OpConf& op = job.op(j);
    const KernelDef& def = *defs[j];
    for (int k = 0; k < op.output_size(); ++k) {
      if ((def.layout_agnostic || Contains(def.blocked_outputs, k)) && blockable(op.output(k))) {
        blocked.insert(op.output(k));
      }
    }
  }
  // Every reader must accept the layout too; users only ever see plain fetches.
  for (int j = 0; j < job.op_size(); ++j) {
    const flowrt::OpConf& op = job.op(j);
    const KernelDef& def = *defs[j];
    for (int i = 0; i < op.input_size(); ++i) {
      if (!def.layout_agnostic && !Contains(def.blocked_inputs, i)) {
        blocked.erase(op.input(i));
      }
    }
  }
  for (const std::string& fetch : job.fetch()) blocked.erase(fetch);

  // Elementwise ops index their tensors alike: one layout for all of them.
  for (bool changed = true; changed;) {
    changed = false;
    for (int j = 0; j < job.op_size(); ++j) {
      const flowrt::OpConf& op = job.op(j);
      if (!defs[j]->layout_agnostic) continue;
      std::vector<const std::string*> tensors;
      for (const std::string& in : op.input()) tensors.push_back(&in);
      for (const std::string& out : op.output()) tensors.push_back(&out);
      const bool any_plain = std::any_of(tensors.begin(), tensors.end(), [&](const std::string* b) {
        return !blocked.contains(*b);
      });
      if (!any_plain) continue;
      for (const std::string* b : tensors) changed |= blocked.erase(*b) > 0;
    }
  }
  return blocked;
}

}  // namespace flow

#include "runtime/shape_inference.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace flow {

absl::StatusOr<std::map<std::string, BlobDesc>> InferBlobDescs(const flowrt::JobConf& job,
                                                               const KernelDefLookup& kernel_defs) {
  std::map<std::string, BlobDesc> descs;
  for (const flowrt::OpConf& op : job.op()) {
    const KernelDef* def = kernel_defs(op.type());
    if (def == nullptr) {
      return absl::NotFoundError(absl::StrCat("op '", op.name(), "': unknown type ", op.type()));
    }
    ShapeContext ctx{op, {}};
    for (const std::string& in : op.input()) {
      auto it = descs.find(in);
      if (it == descs.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("op '", op.name(), "' reads blob '", in, "' before it is produced"));
      }
      ctx.inputs.push_back(it->second);
    }
    FLOWRT_ASSIGN_OR_RETURN(std::vector<BlobDesc> outs, def->shape_fn(ctx));
    for (int i = 0; i < op.output_size(); ++i) descs[op.output(i)] = outs[i];
  }
  return descs;
}

}  // namespace flow

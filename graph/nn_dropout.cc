// flow::nn::dropout (graph/nn.h): emits the dropout op (ops/dropout.cc) in train jobs only.
#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "graph/nn.h"
#include "ops/dropout.h"

namespace flow::nn {

Blob dropout(const Blob& x, float rate, std::optional<int64_t> seed, absl::string_view name) {
  if (!x.ok()) return x;
  JobBuilder* builder = x.builder();
  // Checked in every job, as OneFlow asserts it before looking at the job type.
  if (absl::Status status = CheckDropoutRate(rate); !status.ok()) {
    return builder->Fail(
        absl::Status(status.code(), absl::StrCat("dropout '", name, "': input ", x.name(), " ",
                                                 x.shape().ToString(), ": ", status.message())));
  }
  // OneFlow: identity outside train jobs and for rate 0 — no op at all, so predict jobs pay
  // nothing and their graphs equal those of a model without dropout.
  if (!builder->is_train() || rate == 0.f) return x;
  OpBuilder op("dropout");
  op.Name(name).Input(x).Attr("rate", rate);
  if (seed.has_value()) op.Attr("seed", *seed);
  return op.Build()[0];
}

}  // namespace flow::nn

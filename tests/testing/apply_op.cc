#include "tests/testing/apply_op.h"

#include "graph/flow.h"

namespace flow::testing {

absl::StatusOr<Tensor> ApplyOp(const OpFn& op, const std::vector<Tensor>& inputs) {
  Session session;
  std::vector<Placeholder> placeholders;
  for (const Tensor& t : inputs) placeholders.emplace_back(t.shape(), t.dtype());
  JobFunction job(
      &session, "job", JobType::kPredict,
      [&](const std::vector<Blob>& in) { return std::vector<Blob>{op(in)}; }, placeholders);
  absl::StatusOr<std::vector<Tensor>> out = job.Run(inputs);
  if (!out.ok()) return out.status();
  return (*out)[0];
}

absl::Status CompileOpError(const OpFn& op, const std::vector<Shape>& shapes) {
  Session session;
  std::vector<Placeholder> placeholders;
  for (const Shape& s : shapes) placeholders.emplace_back(s);
  JobFunction job(
      &session, "bad", JobType::kPredict,
      [&](const std::vector<Blob>& in) { return std::vector<Blob>{op(in)}; }, placeholders);
  return job.Compile();
}

}  // namespace flow::testing

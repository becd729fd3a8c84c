#include "graph/autodiff.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "graph/math_ops.h"
#include "runtime/status.h"

namespace flow {

class AutodiffPass {
 public:
  explicit AutodiffPass(JobBuilder* builder) : builder_(builder) {}

  absl::StatusOr<std::vector<Blob>> Run(const std::vector<Blob>& ys, const std::vector<Blob>& xs,
                                        const std::vector<Blob>& grad_ys) {
    const flowrt::JobConf& job = builder_->job();
    const int num_forward_ops = job.op_size();

    // Blobs that depend on some x (through differentiable ops).
    std::set<std::string> from_xs;
    for (const Blob& x : xs) from_xs.insert(x.name());
    for (int i = 0; i < num_forward_ops; ++i) {
      const flowrt::OpConf& op = job.op(i);
      const OpSchema* schema = FindOp(op.type());
      if (schema->no_gradient || schema->mutates_input) continue;
      for (const std::string& in : op.input()) {
        if (from_xs.contains(in)) {
          for (const std::string& out : op.output()) from_xs.insert(out);
          break;
        }
      }
    }

    // Seed the gradients of ys.
    for (size_t i = 0; i < ys.size(); ++i) {
      Blob seed = i < grad_ys.size() ? grad_ys[i] : ones_like(ys[i]);
      Accumulate(ys[i].name(), seed);
    }

    // Walk the forward ops backwards; an op runs its rule when a gradient reaches one of its
    // outputs and one of its inputs depends on an x (pruning everything else).
    for (int i = num_forward_ops - 1; i >= 0; --i) {
      const flowrt::OpConf op = job.op(i);
      bool has_output_grad = false;
      for (const std::string& out : op.output()) has_output_grad |= grads_.contains(out);
      if (!has_output_grad) continue;
      bool any_input_needed = false;
      std::vector<bool> needed;
      for (const std::string& in : op.input()) {
        needed.push_back(from_xs.contains(in));
        any_input_needed |= needed.back();
      }
      if (!any_input_needed) continue;
      const OpSchema* schema = FindOp(op.type());
      if (!schema->grad_fn) {
        builder_->Fail(
            absl::UnimplementedError(absl::StrCat("op '", op.name(), "' (", op.type(),
                                                  ") has no gradient rule but lies between the "
                                                  "loss and a variable being trained")));
        return builder_->status();
      }
      GradContext ctx(builder_, op);
      for (const std::string& out : op.output()) ctx.output_grads_.push_back(TakeSum(out));
      ctx.needs_input_grad_ = needed;
      ctx.input_grads_.resize(op.input_size());
      schema->grad_fn(ctx);
      FLOWRT_RETURN_IF_ERROR(builder_->status());
      for (int k = 0; k < op.input_size(); ++k) {
        if (needed[k] && ctx.input_grads_[k].ok()) Accumulate(op.input(k), ctx.input_grads_[k]);
      }
    }

    std::vector<Blob> result;
    for (const Blob& x : xs)
      result.push_back(grads_.contains(x.name()) ? TakeSum(x.name()) : Blob());
    FLOWRT_RETURN_IF_ERROR(builder_->status());
    return result;
  }

 private:
  void Accumulate(const std::string& blob, const Blob& grad) { grads_[blob].push_back(grad); }

  // The sum of the gradient contributions of `blob` (fan-out), emitted as a chain of adds.
  Blob TakeSum(const std::string& blob) {
    auto it = grads_.find(blob);
    if (it == grads_.end()) return Blob();
    std::vector<Blob>& parts = it->second;
    Blob sum = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) sum = add(sum, parts[i]);
    parts = {sum};
    return sum;
  }

  JobBuilder* builder_;
  std::map<std::string, std::vector<Blob>> grads_;
};

absl::StatusOr<std::vector<Blob>> Gradients(const std::vector<Blob>& ys,
                                            const std::vector<Blob>& xs,
                                            const std::vector<Blob>& grad_ys) {
  FLOWRT_CHECK(!ys.empty());
  JobBuilder* builder = ys[0].builder();
  for (const Blob& y : ys) {
    if (!y.ok()) {
      if (builder != nullptr && !builder->status().ok()) return builder->status();
      return absl::FailedPreconditionError("Gradients of a blob that failed to build");
    }
  }
  JobBuilder::Activation active(builder);
  return AutodiffPass(builder).Run(ys, xs, grad_ys);
}

}  // namespace flow

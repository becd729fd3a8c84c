#include "framework/grad_context.h"

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace flow {

Blob GradContext::input(int i) const { return builder_->GetBlob(op_.input(i)); }
Blob GradContext::output(int i) const { return builder_->GetBlob(op_.output(i)); }

void GradContext::SetInputGrad(int i, const Blob& grad) {
  FLOWRT_CHECK(i >= 0 && i < static_cast<int>(input_grads_.size())) << op_.name() << " input " << i;
  input_grads_[i] = grad;
}

OpBuilder GradContext::Op(absl::string_view type) const {
  OpBuilder builder(type);
  builder.Name(absl::StrCat(op_.name(), "_grad"));
  return builder;
}

}  // namespace flow

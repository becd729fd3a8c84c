#include "graph/nn.h"

#include "framework/job_builder.h"

namespace flow::nn {

Blob relu(const Blob& x, absl::string_view name) {
  return OpBuilder("relu").Name(name).Input(x).Build1();
}

Blob sparse_softmax_cross_entropy_with_logits(const Blob& labels, const Blob& logits,
                                              absl::string_view name) {
  return OpBuilder("sparse_softmax_cross_entropy").Name(name).Input(logits).Input(labels).Build1();
}

Blob softmax_cross_entropy_with_logits(const Blob& labels, const Blob& logits,
                                       absl::string_view name) {
  return OpBuilder("softmax_cross_entropy").Name(name).Input(logits).Input(labels).Build1();
}

}  // namespace flow::nn

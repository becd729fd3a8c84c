// flow::nn::sigmoid, tanh and softmax (declared in graph/nn.h); each emits one op.
#include "graph/job_builder.h"
#include "graph/nn.h"

namespace flow::nn {

Blob sigmoid(const Blob& x, absl::string_view name) {
  return OpBuilder("sigmoid").Name(name).Input(x).Build1();
}

Blob tanh(const Blob& x, absl::string_view name) {
  return OpBuilder("tanh").Name(name).Input(x).Build1();
}

Blob softmax(const Blob& x, absl::string_view name) {
  return OpBuilder("softmax").Name(name).Input(x).Build1();
}

}  // namespace flow::nn

// flow::nn::sigmoid, tanh, softmax and leaky_relu (declared in graph/nn.h); each emits one op.
#include "framework/job_builder.h"
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

Blob leaky_relu(const Blob& x, float alpha, absl::string_view name) {
  return OpBuilder("leaky_relu").Name(name).Input(x).Attr("alpha", alpha).Build1();
}

}  // namespace flow::nn

#include "graph/math_ops.h"

#include "graph/job_builder.h"

namespace flow {

Blob reshape(const Blob& x, const std::vector<int64_t>& shape, absl::string_view name) {
  return OpBuilder("reshape").Name(name).Input(x).Attr("shape", shape).Build1();
}

Blob add(const Blob& a, const Blob& b) { return OpBuilder("add").Input(a).Input(b).Build1(); }

Blob fill_like(const Blob& x, float value) {
  return OpBuilder("fill_like").Input(x).Attr("value", value).Build1();
}

}  // namespace flow

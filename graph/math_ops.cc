#include "graph/math_ops.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"

namespace flow {

Blob reshape(const Blob& x, const std::vector<int64_t>& shape, absl::string_view name) {
  return OpBuilder("reshape").Name(name).Input(x).Attr("shape", shape).Build1();
}

Blob add(const Blob& a, const Blob& b) { return OpBuilder("add").Input(a).Input(b).Build1(); }

Blob fill_like(const Blob& x, float value) {
  return OpBuilder("fill_like").Input(x).Attr("value", value).Build1();
}

Blob concat(const std::vector<Blob>& values, int64_t axis, absl::string_view name) {
  OpBuilder op("concat");
  op.Name(name).Attr("axis", axis);
  for (const Blob& v : values) op.Input(v);
  return op.Build1();
}

Blob transpose(const Blob& x, const std::vector<int64_t>& perm, absl::string_view name) {
  return OpBuilder("transpose").Name(name).Input(x).Attr("perm", perm).Build1();
}

namespace math {

Blob matmul(const Blob& a, const Blob& b, bool transpose_a, bool transpose_b,
            absl::string_view name) {
  return OpBuilder("matmul")
      .Name(name)
      .Input(a)
      .Input(b)
      .Attr("transpose_a", transpose_a)
      .Attr("transpose_b", transpose_b)
      .Build1();
}

Blob multiply(const Blob& a, const Blob& b, absl::string_view name) {
  return OpBuilder("multiply").Name(name).Input(a).Input(b).Build1();
}

Blob subtract(const Blob& a, const Blob& b, absl::string_view name) {
  return OpBuilder("subtract").Name(name).Input(a).Input(b).Build1();
}

Blob divide(const Blob& a, const Blob& b, absl::string_view name) {
  return OpBuilder("divide").Name(name).Input(a).Input(b).Build1();
}

Blob exp(const Blob& x, absl::string_view name) {
  return OpBuilder("exp").Name(name).Input(x).Build1();
}
Blob log(const Blob& x, absl::string_view name) {
  return OpBuilder("log").Name(name).Input(x).Build1();
}
Blob sqrt(const Blob& x, absl::string_view name) {
  return OpBuilder("sqrt").Name(name).Input(x).Build1();
}
Blob square(const Blob& x, absl::string_view name) {
  return OpBuilder("square").Name(name).Input(x).Build1();
}
Blob abs(const Blob& x, absl::string_view name) {
  return OpBuilder("abs").Name(name).Input(x).Build1();
}

Blob clip_by_value(const Blob& x, float min_value, float max_value, absl::string_view name) {
  return OpBuilder("clip_by_value")
      .Name(name)
      .Input(x)
      .Attr("min_value", min_value)
      .Attr("max_value", max_value)
      .Build1();
}

Blob multiply(const Blob& x, float scalar, absl::string_view name) {
  return OpBuilder("scalar_mul").Name(name).Input(x).Attr("scalar", scalar).Build1();
}

Blob reduce_sum(const Blob& x, const std::vector<int64_t>& axes, bool keepdims,
                absl::string_view name) {
  return OpBuilder("reduce_sum")
      .Name(name)
      .Input(x)
      .Attr("axes", axes)
      .Attr("keepdims", keepdims)
      .Build1();
}

Blob reduce_max(const Blob& x, const std::vector<int64_t>& axes, bool keepdims,
                absl::string_view name) {
  return OpBuilder("reduce_max")
      .Name(name)
      .Input(x)
      .Attr("axes", axes)
      .Attr("keepdims", keepdims)
      .Build1();
}

Blob reduce_mean(const Blob& x, const std::vector<int64_t>& axes, bool keepdims,
                 absl::string_view name) {
  return OpBuilder("reduce_mean")
      .Name(name)
      .Input(x)
      .Attr("axes", axes)
      .Attr("keepdims", keepdims)
      .Build1();
}

Blob argmax(const Blob& x, absl::string_view name) {
  return OpBuilder("argmax").Name(name).Input(x).Build1();
}

}  // namespace math

namespace nn {

Blob bias_add(const Blob& x, const Blob& b, absl::string_view data_format, absl::string_view name) {
  if (!x.ok()) return x;
  // OneFlow's rule: None or "NC…" adds along axis 1, "N…C" along the last axis.
  int64_t axis;
  if (data_format.empty() || absl::StartsWith(data_format, "NC")) {
    axis = 1;
  } else if (absl::StartsWith(data_format, "N") && absl::EndsWith(data_format, "C")) {
    axis = -1;
  } else {
    return x.builder()->Fail(absl::InvalidArgumentError(
        absl::StrCat("bias_add '", name, "': data_format \"", data_format,
                     "\" is neither channels-first (\"NC...\") nor channels-last (\"N...C\")")));
  }
  return OpBuilder("bias_add").Name(name).Input(x).Input(b).Attr("axis", axis).Build1();
}

}  // namespace nn
}  // namespace flow

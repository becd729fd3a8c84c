// flow::nn::max_pool2d / avg_pool2d (graph/nn.h): turn OneFlow's "SAME"/"VALID" padding into the
// explicit pads of the max_pool2d / avg_pool2d ops (ops/window.h decides what SAME means).
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/job_builder.h"
#include "graph/nn.h"
#include "ops/window.h"

namespace flow::nn {
namespace {

// OneFlow takes an int or a list for ksize/strides: one value applies to both spatial dims.
bool ExpandPair(const std::vector<int64_t>& v, std::vector<int64_t>* out) {
  if (v.size() == 1)
    *out = {v[0], v[0]};
  else if (v.size() == 2)
    *out = v;
  else
    return false;
  return true;
}

// x: (N, C, H, W) → (N, C, OH, OW) through op `type`.
Blob Pool2d(absl::string_view type, const Blob& x, const std::vector<int64_t>& ksize,
            const std::vector<int64_t>& strides, absl::string_view padding,
            absl::string_view data_format, absl::string_view name) {
  if (!x.ok()) return x;
  JobBuilder* builder = x.builder();
  const std::string where =
      absl::StrCat(type, " '", name, "': input ", x.name(), " ", x.shape().ToString(), ": ");
  if (data_format != "NCHW") {
    const absl::Status error =
        data_format == "NHWC"
            ? absl::UnimplementedError(absl::StrCat(where,
                                                    "data_format NHWC is not supported, "
                                                    "only NCHW"))
            : absl::InvalidArgumentError(absl::StrCat(where, "unknown data_format '", data_format,
                                                      "' (only NCHW is supported)"));
    return builder->Fail(error);
  }
  if (x.shape().rank() != 4) {
    return builder->Fail(
        absl::InvalidArgumentError(absl::StrCat(where, "expected rank 4 (N, C, H, W)")));
  }
  std::vector<int64_t> k, s;
  if (!ExpandPair(ksize, &k) || !ExpandPair(strides, &s)) {
    return builder->Fail(absl::InvalidArgumentError(
        absl::StrCat(where, "ksize [", absl::StrJoin(ksize, ", "), "] and strides [",
                     absl::StrJoin(strides, ", "), "] must have 1 or 2 values")));
  }
  std::vector<int64_t> pad_before(2), pad_after(2);
  for (int d = 0; d < 2; ++d) {
    absl::StatusOr<WindowDim> window = ComputeWindow(x.shape()[2 + d], k[d], s[d], 1, padding);
    if (!window.ok()) {
      return builder->Fail(absl::InvalidArgumentError(
          absl::StrCat(where, d == 0 ? "height: " : "width: ", window.status().message())));
    }
    pad_before[d] = window->pad_before;
    pad_after[d] = window->pad_after;
  }
  return OpBuilder(type)
      .Name(name)
      .Input(x)
      .Attr("ksize", k)
      .Attr("strides", s)
      .Attr("pad_before", pad_before)
      .Attr("pad_after", pad_after)
      .Build()[0];
}

}  // namespace

Blob max_pool2d(const Blob& x, const std::vector<int64_t>& ksize,
                const std::vector<int64_t>& strides, absl::string_view padding,
                absl::string_view data_format, absl::string_view name) {
  return Pool2d("max_pool2d", x, ksize, strides, padding, data_format, name);
}

Blob avg_pool2d(const Blob& x, const std::vector<int64_t>& ksize,
                const std::vector<int64_t>& strides, absl::string_view padding,
                absl::string_view data_format, absl::string_view name) {
  return Pool2d("avg_pool2d", x, ksize, strides, padding, data_format, name);
}

}  // namespace flow::nn

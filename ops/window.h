// Output size and padding of a sliding window along one spatial dimension, shared by conv2d and
// the pooling ops so "SAME" means the same thing everywhere (OneFlow's SAME_LOWER).
//
//   // LeNet conv1: 28 wide, 5x5 kernel, stride 1, SAME → out 28, pads 2 / 2.
//   FLOWRT_ASSIGN_OR_RETURN(WindowDim w, ComputeWindow(28, /*kernel=*/5, /*stride=*/1,
//                                               /*dilation=*/1, "SAME"));
//   // Explicit pads (the op attrs pad_before/pad_after): only the output size is derived.
//   FLOWRT_ASSIGN_OR_RETURN(int64_t out, WindowOutputSize(14, 5, 1, 1, /*pad_before=*/2,
//                                                  /*pad_after=*/2));
//
// With the effective kernel size ek = (kernel − 1)·dilation + 1:
//   "SAME" = "SAME_LOWER": out = ceil(in / stride),
//            total = max(0, (out − 1)·stride + ek − in), the LARGER half before (OneFlow, ONNX
//            SAME_LOWER; TensorFlow puts it after).
//   "SAME_UPPER": as SAME_LOWER with the larger half after (OneFlow accepts it too).
//   "VALID": out = floor((in − ek) / stride) + 1, no padding; ek > in is an error.
// Mode names are case-insensitive, as OneFlow upper-cases them.
//
// Errors (InvalidArgument) describe the dimension ("kernel 5 (dilation 1) is larger than input 3
// with VALID padding"); callers prefix the op and input, e.g. ShapeContext::Where().
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flow {

struct WindowDim {
  int64_t out = 0;
  int64_t pad_before = 0;
  int64_t pad_after = 0;
  bool operator==(const WindowDim& o) const {
    return out == o.out && pad_before == o.pad_before && pad_after == o.pad_after;
  }
};

// Output size and the padding split for `padding` "SAME", "SAME_LOWER", "SAME_UPPER" or "VALID".
// REQUIRES nothing: in ≥ 0, kernel ≥ 1, stride ≥ 1, dilation ≥ 1 are checked.
absl::StatusOr<WindowDim> ComputeWindow(int64_t in, int64_t kernel, int64_t stride,
                                        int64_t dilation, absl::string_view padding);

// Output size with explicit padding: floor((in + pad_before + pad_after − ek) / stride) + 1.
// Errors: non-positive kernel/stride/dilation, negative padding, or a window that does not fit
// even once into the padded input.
absl::StatusOr<int64_t> WindowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                                         int64_t dilation, int64_t pad_before, int64_t pad_after);

// True for the padding names ComputeWindow accepts.
bool IsWindowPaddingMode(absl::string_view padding);

}  // namespace flow

#include "ops/window.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flow {
namespace {

enum class Mode { kSameLower, kSameUpper, kValid, kUnknown };

Mode ParseMode(absl::string_view padding) {
  const std::string upper = absl::AsciiStrToUpper(padding);
  if (upper == "SAME" || upper == "SAME_LOWER") return Mode::kSameLower;
  if (upper == "SAME_UPPER") return Mode::kSameUpper;
  if (upper == "VALID") return Mode::kValid;
  return Mode::kUnknown;
}

absl::Status CheckWindow(int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
  if (in < 0) return absl::InvalidArgumentError(absl::StrCat("input size ", in, " is negative"));
  if (kernel < 1) {
    return absl::InvalidArgumentError(absl::StrCat("kernel size ", kernel, " must be positive"));
  }
  if (stride < 1) {
    return absl::InvalidArgumentError(absl::StrCat("stride ", stride, " must be positive"));
  }
  if (dilation < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("dilation ", dilation, " must be positive (1 = no dilation)"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsWindowPaddingMode(absl::string_view padding) { return ParseMode(padding) != Mode::kUnknown; }

absl::StatusOr<WindowDim> ComputeWindow(int64_t in, int64_t kernel, int64_t stride,
                                        int64_t dilation, absl::string_view padding) {
  const Mode mode = ParseMode(padding);
  if (mode == Mode::kUnknown) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown padding '", padding,
                     "' (expected \"SAME\", \"SAME_LOWER\", \"SAME_UPPER\" or \"VALID\")"));
  }
  if (absl::Status s = CheckWindow(in, kernel, stride, dilation); !s.ok()) return s;
  const int64_t effective = (kernel - 1) * dilation + 1;
  WindowDim dim;
  if (mode == Mode::kValid) {
    if (effective > in) {
      return absl::InvalidArgumentError(absl::StrCat("kernel ", kernel, " (dilation ", dilation,
                                                     ") is larger than input ", in,
                                                     " with VALID padding"));
    }
    dim.out = (in - effective) / stride + 1;
    return dim;
  }
  dim.out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>(0, (dim.out - 1) * stride + effective - in);
  const int64_t larger = total - total / 2;
  dim.pad_before = mode == Mode::kSameLower ? larger : total / 2;
  dim.pad_after = total - dim.pad_before;
  return dim;
}

absl::StatusOr<int64_t> WindowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                                         int64_t dilation, int64_t pad_before, int64_t pad_after) {
  if (absl::Status s = CheckWindow(in, kernel, stride, dilation); !s.ok()) return s;
  if (pad_before < 0 || pad_after < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("padding ", pad_before, "/", pad_after, " must not be negative"));
  }
  const int64_t effective = (kernel - 1) * dilation + 1;
  const int64_t padded = in + pad_before + pad_after;
  if (effective > padded) {
    return absl::InvalidArgumentError(absl::StrCat("kernel ", kernel, " (dilation ", dilation,
                                                   ") is larger than input ", in, " padded by ",
                                                   pad_before, "/", pad_after));
  }
  return (padded - effective) / stride + 1;
}

}  // namespace flow

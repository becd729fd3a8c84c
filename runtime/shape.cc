#include "runtime/shape.h"

#include "absl/strings/str_join.h"

namespace flow {

int64_t Shape::NumElements() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

std::optional<int64_t> Shape::CheckedNumElements() const {
  int64_t n = 1;
  for (int64_t d : dims_) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
}

std::string Shape::ToString() const {
  if (dims_.size() == 1) return "(" + std::to_string(dims_[0]) + ",)";
  return "(" + absl::StrJoin(dims_, ", ") + ")";
}

}  // namespace flow

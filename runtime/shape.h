// A static tensor shape: a list of non-negative dimensions, C order. Rank 0 is a scalar.
//
//   Shape s({100, 1, 28, 28});
//   s.NumElements() == 78400; s.ToString() == "(100, 1, 28, 28)"
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "runtime/status.h"

namespace flow {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  explicit Shape(absl::Span<const int64_t> dims) : dims_(dims.begin(), dims.end()) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  // REQUIRES: 0 <= i < rank() (checked: shapes are indexed at build time, not in a step).
  int64_t dim(int i) const {
    FLOWRT_CHECK(i >= 0 && i < rank()) << "dim " << i << " of shape " << ToString();
    return dims_[i];
  }
  int64_t operator[](int i) const { return dim(i); }
  const std::vector<int64_t>& dims() const { return dims_; }

  // Product of all dims (1 for rank 0). Callers with untrusted dims use CheckedNumElements.
  int64_t NumElements() const;
  // Product of dims, or nullopt if a dim is negative or the product overflows int64.
  std::optional<int64_t> CheckedNumElements() const;

  // "(10, 512)"; "()" for a scalar; "(3,)" for rank 1, as NumPy and OneFlow print shapes.
  std::string ToString() const;

  bool operator==(const Shape& other) const { return dims_ == other.dims_; }
  bool operator!=(const Shape& other) const { return dims_ != other.dims_; }

 private:
  std::vector<int64_t> dims_;
};

}  // namespace flow

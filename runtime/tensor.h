// A dense, C-order tensor on the host: shape, dtype and a 64-byte-aligned buffer.
// Copies share the buffer (like torch.Tensor); Clone() makes a deep copy.
//
//   flow::Tensor t(flow::Shape({2, 3}), flow::kFloat);   // zero-filled
//   t.data<float>()[0] = 1.f;
//   flow::Tensor view = flow::Tensor::Wrap(ptr, shape, flow::kFloat);  // does not own ptr
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/dtype.h"
#include "runtime/shape.h"
#include "runtime/status.h"

namespace flow {

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled buffer of shape.NumElements() * ItemSize(dtype) bytes.
  Tensor(Shape shape, DataType dtype);

  // A view of memory owned elsewhere (the executor's arena, a variable store, a mapped file).
  static Tensor Wrap(void* data, Shape shape, DataType dtype);

  // A rank-1 float or int tensor from values, for tests and small feeds.
  template <typename T>
  static Tensor FromVector(Shape shape, const std::vector<T>& values) {
    Tensor t(std::move(shape), DataTypeOf<T>());
    FLOWRT_CHECK_EQ(static_cast<int64_t>(values.size()), t.num_elements());
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }

  bool defined() const { return data_ != nullptr || dtype_ != DataType::kInvalid; }
  const Shape& shape() const { return shape_; }
  DataType dtype() const { return dtype_; }
  int64_t num_elements() const { return shape_.NumElements(); }
  int64_t num_bytes() const { return num_elements() * ItemSize(dtype_); }

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }

  template <typename T>
  T* data() {
    FLOWRT_CHECK(dtype_ == DataTypeOf<T>()) << "tensor holds " << DataTypeName(dtype_);
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    FLOWRT_CHECK(dtype_ == DataTypeOf<T>()) << "tensor holds " << DataTypeName(dtype_);
    return static_cast<const T*>(data_);
  }

  // Element i converted to double (any numeric dtype but float16), for tests and summaries.
  double ElementAsDouble(int64_t i) const;
  // Mean of all elements as double; 0 for an empty tensor. `loss.mean()` in the API sketch.
  double mean() const;

  // Deep copy with its own buffer.
  Tensor Clone() const;
  // Copies the bytes of `src` into this tensor's buffer; shapes and dtypes must match.
  void CopyFrom(const Tensor& src);

  // Same shape, dtype and bytes.
  bool BitwiseEqual(const Tensor& other) const;

  std::string DebugString() const;  // "Tensor(kFloat, (2, 3))"

 private:
  Tensor(std::shared_ptr<void> storage, void* data, Shape shape, DataType dtype)
      : storage_(std::move(storage)), data_(data), shape_(std::move(shape)), dtype_(dtype) {}

  std::shared_ptr<void> storage_;  // null for views
  void* data_ = nullptr;
  Shape shape_;
  DataType dtype_ = DataType::kInvalid;
};

// Allocates `bytes` aligned to 64 (cache line / AVX-512), zero-filled; never returns null.
std::shared_ptr<void> AllocateAligned(int64_t bytes);

}  // namespace flow

#include "runtime/tensor.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace flow {

std::shared_ptr<void> AllocateAligned(int64_t bytes) {
  FLOWRT_CHECK_GE(bytes, 0);
  // Buffers of 2 MiB and more are 2 MiB-aligned and asked to be backed by transparent huge pages
  // before their first touch: the zero fill then faults once per 2 MiB instead of once per
  // 4 KiB, which halves snapshot load time on this kind of VM (tools/bench/RESULTS.md, "Checkpoint
  // I/O (issue 5)").
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t n = bytes == 0 ? 64 : (static_cast<size_t>(bytes) + 63) / 64 * 64;
  const size_t align = n >= kHugePage ? kHugePage : 64;
  const size_t rounded = (n + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
  FLOWRT_CHECK(p != nullptr) << "out of memory allocating " << bytes << " bytes";
  if (align == kHugePage) ::madvise(p, rounded, MADV_HUGEPAGE);  // advisory: errors are harmless
  std::memset(p, 0, rounded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

Tensor::Tensor(Shape shape, DataType dtype) : shape_(std::move(shape)), dtype_(dtype) {
  FLOWRT_CHECK(ItemSize(dtype) > 0) << "invalid dtype";
  storage_ = AllocateAligned(shape_.NumElements() * ItemSize(dtype));
  data_ = storage_.get();
}

Tensor Tensor::Wrap(void* data, Shape shape, DataType dtype) {
  return Tensor(nullptr, data, std::move(shape), dtype);
}

double Tensor::ElementAsDouble(int64_t i) const {
  switch (dtype_) {
    case DataType::kFloat:
      return static_cast<const float*>(data_)[i];
    case DataType::kDouble:
      return static_cast<const double*>(data_)[i];
    case DataType::kInt8:
      return static_cast<const int8_t*>(data_)[i];
    case DataType::kChar:
      return static_cast<const char*>(data_)[i];
    case DataType::kInt32:
      return static_cast<const int32_t*>(data_)[i];
    case DataType::kInt64:
      return static_cast<double>(static_cast<const int64_t*>(data_)[i]);
    case DataType::kUInt8:
      return static_cast<const uint8_t*>(data_)[i];
    default:
      FLOWRT_CHECK(false) << "ElementAsDouble on " << DataTypeName(dtype_);
  }
  return 0;
}

double Tensor::mean() const {
  const int64_t n = num_elements();
  if (n == 0) return 0;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += ElementAsDouble(i);
  return sum / static_cast<double>(n);
}

Tensor Tensor::Clone() const {
  Tensor copy(shape_, dtype_);
  if (num_bytes() > 0) std::memcpy(copy.data_, data_, num_bytes());
  return copy;
}

void Tensor::CopyFrom(const Tensor& src) {
  FLOWRT_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_)
      << src.DebugString() << " into " << DebugString();
  if (num_bytes() > 0 && src.data_ != data_) std::memcpy(data_, src.data_, num_bytes());
}

bool Tensor::BitwiseEqual(const Tensor& other) const {
  return shape_ == other.shape_ && dtype_ == other.dtype_ &&
         (num_bytes() == 0 || std::memcmp(data_, other.data_, num_bytes()) == 0);
}

std::string Tensor::DebugString() const {
  return absl::StrCat("Tensor(", DataTypeName(dtype_), ", ", shape_.ToString(), ")");
}

}  // namespace flow

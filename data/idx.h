// IDX files (LeCun's MNIST format, also Fashion-MNIST), plain or gzip-compressed.
//
//   FLOWRT_ASSIGN_OR_RETURN(flow::Tensor images,
//   flow::data::ReadIdxImages("t10k-images-idx3-ubyte.gz"));
//   // images: (10000, 28, 28) uint8
//   FLOWRT_ASSIGN_OR_RETURN(flow::Tensor labels,
//   flow::data::ReadIdxLabels("t10k-labels-idx1-ubyte"));
//   // labels: (10000,) uint8
//
// Layout: a big-endian uint32 magic 0x0000TTRR (TT element type, 0x08 = unsigned byte; RR rank),
// RR big-endian uint32 dims, then prod(dims) elements in C order, nothing after. Every check that
// fails returns a Status naming the file and what is wrong: InvalidArgument for a file of the wrong
// kind (magic, element type, rank, dims), DataLoss when the payload is shorter or longer than the
// header says, NotFound when the file is missing. Only unsigned-byte files are supported: that is
// all MNIST-family sets use.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace flow::data {

inline constexpr uint32_t kIdxImagesMagic = 0x00000803;  // unsigned byte, rank 3
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // unsigned byte, rank 1
inline constexpr int64_t kMnistImageSide = 28;

// Any unsigned-byte IDX file of rank `expected_rank` (1..4) -> uint8 tensor shaped by its header.
absl::StatusOr<Tensor> ReadIdx(const std::string& path, int expected_rank);

// An image file: magic 0x00000803, dims (N, 28, 28) -> (N, 28, 28) uint8.
absl::StatusOr<Tensor> ReadIdxImages(const std::string& path);

// A label file: magic 0x00000801, dims (N,) -> (N,) uint8. Label range is the caller's check
// (load_mnist requires < 10).
absl::StatusOr<Tensor> ReadIdxLabels(const std::string& path);

// The bytes of an IDX file holding `tensor` (uint8, rank 1..4); for tests and subset tools.
std::string EncodeIdx(const Tensor& tensor);

}  // namespace flow::data

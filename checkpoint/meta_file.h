// The `meta` file of a snapshot variable: OneFlow's VariableMetaInfo in protobuf text format.
// Writing reproduces OneFlow's bytes exactly; parsing treats the text as hostile (size and rank
// caps, known dtypes only, no negative dims, overflow-checked byte size) so a caller may compare
// the result with a file size before allocating anything.
//
//   std::string text = FormatMetaFile(Shape({10, 512}), kFloat);
//   // "shape {\n  dim: 10\n  dim: 512\n}\ndata_type: kFloat\n"
//   FLOWRT_ASSIGN_OR_RETURN(VariableMeta meta, ParseMetaFile(text));
//   meta.num_bytes == 10 * 512 * 4
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/dtype.h"
#include "runtime/shape.h"

namespace flow::checkpoint {

// A `meta` file larger than this is refused unread: real ones are < 1 KiB, and the cap bounds
// what the protobuf parser allocates.
inline constexpr int64_t kMaxMetaFileBytes = 64 * 1024;
// Highest rank accepted from a `meta` file (OneFlow's SHAPE_MAX_AXIS_SIZE is 20).
inline constexpr int kMaxMetaRank = 32;

struct VariableMeta {
  Shape shape;
  DataType dtype = DataType::kInvalid;
  int64_t num_bytes = 0;  // prod(shape) * ItemSize(dtype), known not to overflow
};

// OneFlow's text: each dim on its own line indented two spaces, enum by name, trailing newline.
// Rank 0 prints an empty block: "shape {\n}\ndata_type: kFloat\n". `dtype` must be a valid
// flowrt DataType (CHECKed: callers hold real tensors).
std::string FormatMetaFile(const Shape& shape, DataType dtype);

// Parses and validates `text` (what TextFormat accepts: enum names or numbers, any whitespace,
// comments). Refuses text over kMaxMetaFileBytes, unknown fields, a missing `data_type`, dtypes
// flowrt cannot hold (kInvalidDataType, kOFRecord, kTensorBuffer, numbers outside the enum),
// rank > kMaxMetaRank, negative dims and element or byte counts that overflow int64. A missing
// `shape` block reads as rank 0 (OneFlow's Python printer may omit an empty sub-message). Errors
// are InvalidArgument/DataLoss with a message that the caller prefixes with variable and file.
absl::StatusOr<VariableMeta> ParseMetaFile(absl::string_view text);

}  // namespace flow::checkpoint

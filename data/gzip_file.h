// Whole-file reads and writes that are transparent to gzip, for the dataset readers.
//
//   FLOWRT_ASSIGN_OR_RETURN(std::string bytes,
//   flow::data::ReadMaybeGzipFile("t10k-labels-idx1-ubyte.gz"));
//   FLOWRT_RETURN_IF_ERROR(flow::data::WriteMaybeGzipFile("/tmp/x.gz", bytes));  // gzips: name
//   ends ".gz"
//
// Reading decides by content (the gzip magic 1f 8b), not by name, so a renamed file still reads;
// writing decides by name. Not for snapshots: no fsync, no atomic rename (see checkpoint/).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flow::data {

// Refuse to inflate past this many bytes: a corrupt or hostile .gz must not exhaust memory.
// The largest file flowrt reads (MNIST train images) is 47 MB uncompressed.
inline constexpr int64_t kMaxDecompressedBytes = int64_t{1} << 30;

// The file's bytes, gunzipped when it is a gzip stream.
// Returns NotFound if `path` does not exist, InvalidArgument if it is not a regular file, DataLoss
// if a gzip stream is corrupt or truncated or inflates past `max_bytes`; messages name the path.
absl::StatusOr<std::string> ReadMaybeGzipFile(const std::string& path,
                                              int64_t max_bytes = kMaxDecompressedBytes);

// Writes `bytes` to `path`, gzip-compressed when `path` ends in ".gz"; replaces an existing file.
absl::Status WriteMaybeGzipFile(const std::string& path, const std::string& bytes);

}  // namespace flow::data

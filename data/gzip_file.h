// File reads and writes that are transparent to gzip, for the dataset readers.
//
//   FLOWRT_ASSIGN_OR_RETURN(std::string bytes,
//   flow::data::ReadMaybeGzipFile("t10k-labels-idx1-ubyte.gz"));
//   FLOWRT_RETURN_IF_ERROR(flow::data::WriteMaybeGzipFile("/tmp/x.gz", bytes));  // gzips: name
//   ends ".gz"
//
//   // Streaming, straight into the caller's buffer (no whole-file string in between):
//   FLOWRT_ASSIGN_OR_RETURN(flow::data::MaybeGzipReader in, flow::data::MaybeGzipReader::Open(p));
//   FLOWRT_ASSIGN_OR_RETURN(size_t got, in.Read(buffer, n));  // got < n only at the end
//
// Reading decides by content (the gzip magic 1f 8b), not by name, so a renamed file still reads;
// writing decides by name. Not for snapshots: no fsync, no atomic rename (see checkpoint/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct gzFile_s;  // zlib's stream (zlib.h: typedef struct gzFile_s* gzFile)

namespace flow::data {

// Refuse to inflate past this many bytes: a corrupt or hostile .gz must not exhaust memory.
// The largest file flowrt reads (MNIST train images) is 47 MB uncompressed.
inline constexpr int64_t kMaxDecompressedBytes = int64_t{1} << 30;

// An open file read front to back, gunzipped when it is a gzip stream. Move-only.
class MaybeGzipReader {
 public:
  // NotFound if `path` does not exist or cannot be opened, InvalidArgument if it is not a regular
  // file; messages name the path.
  static absl::StatusOr<MaybeGzipReader> Open(const std::string& path);

  // Reads up to `n` bytes into `out`, fewer only at the end of the data. DataLoss, naming the
  // path, on a read error or a corrupt or truncated gzip stream.
  absl::StatusOr<size_t> Read(void* out, size_t n);

  // The bytes a plain file holds (known without reading it, so a reader can check a header
  // against it before allocating); nullopt for a gzip stream, whose size is known only by
  // inflating it.
  std::optional<int64_t> plain_size() const { return plain_size_; }
  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(std::FILE* f) const;
    void operator()(gzFile_s* f) const;
  };
  MaybeGzipReader() = default;

  std::string path_;
  std::unique_ptr<std::FILE, Closer> plain_;  // set for a plain file
  std::unique_ptr<gzFile_s, Closer> gzip_;    // set for a gzip stream
  std::optional<int64_t> plain_size_;
};

// The file's bytes, gunzipped when it is a gzip stream.
// Returns NotFound if `path` does not exist, InvalidArgument if it is not a regular file, DataLoss
// if a gzip stream is corrupt or truncated or inflates past `max_bytes`; messages name the path.
absl::StatusOr<std::string> ReadMaybeGzipFile(const std::string& path,
                                              int64_t max_bytes = kMaxDecompressedBytes);

// Writes `bytes` to `path`, gzip-compressed when `path` ends in ".gz"; replaces an existing file.
absl::Status WriteMaybeGzipFile(const std::string& path, const std::string& bytes);

}  // namespace flow::data

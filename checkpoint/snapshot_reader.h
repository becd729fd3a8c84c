// Reads OneFlow snapshot directories (OneFlow's `flow.checkpoint.get`), lazily and defensively.
// `flow::load_variables` is built on this; it knows nothing of sessions or jobs.
//
//   FLOWRT_ASSIGN_OR_RETURN(auto snapshot, flow::checkpoint::GetSnapshot("./mlp_models_1"));
//   const flow::checkpoint::SnapshotVariable& w = snapshot.at("dense1-weight");
//   if (w.has_meta()) { FLOWRT_ASSIGN_OR_RETURN(flow::Tensor t, w.Read()); }
//   else { FLOWRT_RETURN_IF_ERROR(w.ReadInto(&destination)); }   // OneFlow <= 0.3.1: no meta
//
// A snapshot is treated as hostile input: symbolic links anywhere in it, FIFOs and devices are
// refused without being opened; names must be safe (variable_name.h); `meta` is size-, rank- and
// overflow-checked (meta_file.h) and `out`'s size is compared with it before anything is
// allocated; the CRC32C sidecar (checksum_file.h), when present, is verified on every read.
// Each refusal is a Status naming the variable and the file. Only the last component of `path`
// itself may not be a link; links in its ancestors are the user's file system, and followed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "checkpoint/checksum_file.h"
#include "checkpoint/meta_file.h"
#include "runtime/tensor.h"

namespace flow::checkpoint {

class UniqueFd;  // checkpoint/file_io.h: internal, not installed

// One variable of a snapshot on disk. Holds only what GetSnapshot validated (names, meta, sizes,
// the sidecar's CRC); Read/ReadInto reopen `out` and re-check its type and size, so a file changed
// since GetSnapshot is refused rather than misread.
class SnapshotVariable {
 public:
  const std::string& name() const { return name_; }
  const std::string& directory() const { return directory_; }
  bool has_meta() const { return meta_.has_value(); }  // false for OneFlow <= 0.3.1 snapshots
  const Shape& shape() const;                          // CHECKs has_meta()
  DataType dtype() const;                              // CHECKs has_meta()
  int64_t file_size() const { return file_size_; }     // bytes of `out`
  bool has_checksum() const { return checksum_.has_value(); }

  // Reads `out` into a new tensor of the meta's shape and dtype. FailedPrecondition without meta.
  absl::StatusOr<Tensor> Read() const;
  // Reads `out` into `dst`'s buffer (no allocation). Without meta, `dst` supplies shape and dtype
  // and `out` must be exactly dst->num_bytes(); with meta, both must equal dst's (the error names
  // the variable and both shapes/dtypes). Mismatches are found before any byte is written; an I/O
  // error or CRC mismatch found while reading leaves *dst partly overwritten.
  absl::Status ReadInto(Tensor* dst) const;

 private:
  friend class SnapshotScanner;
  friend absl::Status VerifySnapshot(const std::string& path);
  SnapshotVariable() = default;

  std::string OutWhat() const;
  // Reopens `out` (no links, regular file only) and checks it still holds `expected_bytes`.
  absl::StatusOr<UniqueFd> OpenOut(int64_t expected_bytes) const;
  // Reads `bytes` from `out` into `dst` (or, if null, through a small buffer), then checks the
  // file ends there and matches the sidecar CRC.
  absl::Status StreamOut(int fd, void* dst, int64_t bytes) const;

  std::string name_;
  std::string directory_;
  std::optional<VariableMeta> meta_;
  int64_t file_size_ = 0;
  std::optional<OutChecksum> checksum_;
};

struct GetOptions {
  // Load a snapshot without `snapshot_done` (an interrupted or foreign save). Off by default.
  bool allow_incomplete = false;
};

// Lists the snapshot at `path`: one SnapshotVariable per subdirectory, each of which must hold an
// `out`. Regular files at the root (`snapshot_done`, stray files) are skipped. Validates
// everything cheap up front — names, links, file types, `meta`, sizes against meta, sidecars — and
// returns the first problem found. NotFound if `path` is missing; FailedPrecondition without
// `snapshot_done` unless `options.allow_incomplete`.
absl::StatusOr<std::map<std::string, SnapshotVariable>> GetSnapshot(const std::string& path,
                                                                    const GetOptions& options = {});

// Every GetSnapshot check (snapshot_done required) plus reading every byte of every `out`
// against its size and sidecar CRC, for `flowrt ckpt verify`. OK only if the snapshot is sound;
// otherwise the first problem's code with a message listing every problem, one per line.
// Variables without meta (OneFlow <= 0.3.1) are checked against their sidecar when they have one.
absl::Status VerifySnapshot(const std::string& path);

}  // namespace flow::checkpoint

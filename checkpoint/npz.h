// NumPy's .npy / .npz formats, so a snapshot moves to and from Python without OneFlow:
//
//   FLOWRT_RETURN_IF_ERROR(flow::checkpoint::WriteNpz("weights.npz", {{"dense1-weight", w}, ...}));
//   FLOWRT_ASSIGN_OR_RETURN(auto arrays, flow::checkpoint::ReadNpz("weights.npz"));   // name ->
//   Tensor
//
// Writing produces what `np.savez` does: a ZIP of `<name>.npy` entries, stored (uncompressed),
// each a .npy v1.0 file (`{'descr': '<f4', 'fortran_order': False, 'shape': (10, 512), }`, header
// padded so the data starts 64-byte aligned). `numpy.load` reads it.
//
// Reading accepts `np.savez` (stored) and `np.savez_compressed` (deflate) files and .npy v1/v2/v3
// headers. The input is treated as hostile: every offset and size is checked against the file
// before use, declared sizes are bounded (a deflate entry may not claim more than deflate's
// maximum ratio) before anything is allocated, each entry's CRC32 is verified, entry names must
// be `<safe variable name>.npy` (variable_name.h), and the header's shape × item size must equal
// the data. Refused with a Status naming the file and entry: big-endian ('>') data, object or
// other unsupported dtypes (bool included: convert with `.astype(np.uint8)`), encrypted or
// multi-disk archives, and ZIP64 archives (entries or archives of 4 GiB or more; not needed for
// flowrt's models). Fortran-order arrays are transposed into C order.
//
// dtypes: '<f4' kFloat, '<f8' kDouble, '<f2' kFloat16, '|i1' kInt8, '<i4' kInt32, '<i8' kInt64,
// '|u1' kUInt8, '|S1' kChar.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/tensor.h"

namespace flow::checkpoint {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The .npy bytes of `tensor` (v1.0 header, C order, little-endian).
absl::StatusOr<std::string> EncodeNpy(const Tensor& tensor);
// Parses one .npy file. `what` prefixes errors (e.g. `weights.npz: entry "w.npy"`).
absl::StatusOr<Tensor> DecodeNpy(absl::string_view bytes, absl::string_view what);

// The .npz bytes of `arrays` (entries in the given order, stored). Names must be safe and
// distinct (CheckDistinctVariableNames).
absl::StatusOr<std::string> EncodeNpz(const NamedTensors& arrays);
// Parses a .npz held in memory; arrays come back in the archive's order. `what` names the file.
absl::StatusOr<NamedTensors> DecodeNpz(absl::string_view bytes, absl::string_view what);

// Writes EncodeNpz's bytes to `path` atomically (a temp file beside it, fsync, rename). Replaces
// an existing regular file; refuses a directory or symbolic link at `path`.
absl::Status WriteNpz(const std::string& path, const NamedTensors& arrays);
// Reads a regular file (no symlink, FIFO or device) of at most 4 GiB and decodes it.
absl::StatusOr<NamedTensors> ReadNpz(const std::string& path);

}  // namespace flow::checkpoint

#include "data/idx.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/gzip_file.h"

namespace flow::data {
namespace {

constexpr uint8_t kUnsignedByteType = 0x08;
constexpr int kMaxRank = 4;

uint32_t ReadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void AppendBigEndian32(uint32_t v, std::string* out) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(bytes, 4);
}

// IDX element-type codes, for messages about files of another type.
const char* IdxTypeName(uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown type";
  }
}

}  // namespace

// The file is read once, front to back: the header into a small buffer, the payload straight into
// the tensor (no whole-file string, no copy).
absl::StatusOr<Tensor> ReadIdx(const std::string& path, int expected_rank) {
  FLOWRT_CHECK(expected_rank >= 1 && expected_rank <= kMaxRank) << expected_rank;
  FLOWRT_ASSIGN_OR_RETURN(MaybeGzipReader in, MaybeGzipReader::Open(path));
  unsigned char header[4 + 4 * kMaxRank];
  FLOWRT_ASSIGN_OR_RETURN(const size_t magic_got, in.Read(header, 4));
  const uint32_t expected_magic = (uint32_t{kUnsignedByteType} << 8) | expected_rank;
  const std::string kind = absl::StrFormat(
      "an IDX file (expected magic 0x%08X: unsigned byte, "
      "rank %d)",
      expected_magic, expected_rank);
  if (magic_got < 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": file has ", magic_got, " bytes, too short for the 4-byte magic of ", kind));
  }
  const uint32_t magic = ReadBigEndian32(header);
  const uint8_t type = static_cast<uint8_t>(magic >> 8);
  const int rank = static_cast<int>(magic & 0xFF);
  if ((magic >> 16) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: bad magic 0x%08X: not %s", path, magic, kind));
  }
  if (type != kUnsignedByteType) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: bad magic 0x%08X: element type 0x%02X (%s), expected 0x08 (unsigned "
                        "byte) in %s",
                        path, magic, type, IdxTypeName(type), kind));
  }
  if (rank != expected_rank) {
    // Images and labels share a directory; say so when they look swapped.
    const char* hint = rank == 3 && expected_rank == 1   ? "; is this an images file?"
                       : rank == 1 && expected_rank == 3 ? "; is this a labels file?"
                                                         : "";
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: bad magic 0x%08X: rank %d, expected rank %d (magic 0x%08X)%s", path,
                        magic, rank, expected_rank, expected_magic, hint));
  }
  const size_t header_bytes = 4 + 4 * static_cast<size_t>(rank);
  FLOWRT_ASSIGN_OR_RETURN(const size_t dims_got, in.Read(header + 4, header_bytes - 4));
  if (4 + dims_got < header_bytes) {
    return absl::DataLossError(absl::StrCat(path, ": truncated header: file has ", 4 + dims_got,
                                            " bytes, the rank-", rank, " IDX header needs ",
                                            header_bytes));
  }
  std::vector<int64_t> dims(rank);
  for (int i = 0; i < rank; ++i) dims[i] = ReadBigEndian32(header + 4 + 4 * i);
  // Dims are uint32 each, so a hostile header can overflow int64 (2^96 at rank 3): checked.
  const Shape shape(dims);
  const std::optional<int64_t> elements = shape.CheckedNumElements();
  if (!elements.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": header dims ", shape.ToString(), " overflow int64"));
  }
  // `payload`: the bytes after the header, when it is not what the header says.
  auto size_mismatch = [&](int64_t payload) {
    const int64_t total = static_cast<int64_t>(header_bytes) + payload;
    if (payload < *elements) {
      return absl::DataLossError(absl::StrCat(
          path, ": truncated: header says ", shape.ToString(), " = ", *elements,
          " bytes of data, file has ", payload, " after the ", header_bytes, "-byte header (",
          total, " bytes in all, expected ", header_bytes + *elements, ")"));
    }
    return absl::DataLossError(absl::StrCat(path, ": size mismatch: header says ", shape.ToString(),
                                            " = ", *elements, " bytes of data, file has ", payload,
                                            " (", payload - *elements,
                                            " trailing bytes); is the header corrupt?"));
  };
  // A plain file's size is known before reading, so a header that lies about the count is refused
  // before allocating. A gzip stream's is known only by inflating it: its header is trusted up to
  // the inflation limit, and a stream shorter or longer than it says is refused after reading.
  if (in.plain_size().has_value()) {
    const int64_t payload = *in.plain_size() - static_cast<int64_t>(header_bytes);
    if (payload != *elements) return size_mismatch(payload);
  } else if (*elements > kMaxDecompressedBytes) {
    return absl::DataLossError(absl::StrCat(path, ": header says ", shape.ToString(), " = ",
                                            *elements, " bytes of data, past the ",
                                            kMaxDecompressedBytes, "-byte limit"));
  }
  Tensor tensor(shape, kUInt8);
  FLOWRT_ASSIGN_OR_RETURN(const size_t got,
                          in.Read(tensor.raw_data(), static_cast<size_t>(*elements)));
  if (static_cast<int64_t>(got) < *elements) return size_mismatch(static_cast<int64_t>(got));
  // Anything after the payload (a gzip stream's; a plain file that grew since the size check).
  int64_t trailing = 0;
  char probe[4096];
  for (size_t n = 1; n > 0 && trailing <= kMaxDecompressedBytes; trailing += n) {
    FLOWRT_ASSIGN_OR_RETURN(n, in.Read(probe, sizeof(probe)));
  }
  if (trailing > 0) return size_mismatch(*elements + trailing);
  return tensor;
}

absl::StatusOr<Tensor> ReadIdxImages(const std::string& path) {
  FLOWRT_ASSIGN_OR_RETURN(Tensor images, ReadIdx(path, 3));
  if (images.shape()[1] != kMnistImageSide || images.shape()[2] != kMnistImageSide) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": images are ", images.shape()[1], "x", images.shape()[2], " (dims ",
                     images.shape().ToString(), "), expected 28x28 (N, 28, 28)"));
  }
  return images;
}

absl::StatusOr<Tensor> ReadIdxLabels(const std::string& path) { return ReadIdx(path, 1); }

std::string EncodeIdx(const Tensor& tensor) {
  FLOWRT_CHECK(tensor.dtype() == kUInt8) << tensor.DebugString();
  FLOWRT_CHECK(tensor.shape().rank() >= 1 && tensor.shape().rank() <= kMaxRank)
      << tensor.DebugString();
  std::string out;
  AppendBigEndian32((uint32_t{kUnsignedByteType} << 8) | tensor.shape().rank(), &out);
  for (int64_t d : tensor.shape().dims()) AppendBigEndian32(static_cast<uint32_t>(d), &out);
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.num_bytes());
  return out;
}

}  // namespace flow::data

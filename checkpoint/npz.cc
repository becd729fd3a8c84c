#include "checkpoint/npz.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "checkpoint/file_io.h"
#include "checkpoint/variable_name.h"
#include "runtime/status.h"

namespace flow::checkpoint {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicLen = 6;
constexpr int kMaxRank = 32;
constexpr size_t kMaxNpyHeaderBytes = 64 * 1024;
constexpr uint64_t kMaxZip32 = 0xFFFFFFFFu;
constexpr int64_t kMaxFileBytes = int64_t{1} << 32;
// deflate never compresses better than 1032:1 (RFC 1951 blocks: 258 bytes per ~2 bits).
constexpr uint64_t kMaxDeflateRatio = 1032;

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, reproducible bytes

struct DtypeInfo {
  DataType dtype;
  const char* descr;  // what we write
};
constexpr DtypeInfo kDtypes[] = {
    {DataType::kFloat, "<f4"}, {DataType::kDouble, "<f8"}, {DataType::kFloat16, "<f2"},
    {DataType::kInt8, "|i1"},  {DataType::kInt32, "<i4"},  {DataType::kInt64, "<i8"},
    {DataType::kUInt8, "|u1"}, {DataType::kChar, "|S1"},
};

// ---- little-endian byte helpers ----
void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void Put32(std::string& s, uint32_t v) {
  Put16(s, static_cast<uint16_t>(v & 0xffff));
  Put16(s, static_cast<uint16_t>(v >> 16));
}
uint16_t Get16(absl::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) |
                               (static_cast<uint8_t>(s[at + 1]) << 8));
}
uint32_t Get32(absl::string_view s, size_t at) {
  return Get16(s, at) | (static_cast<uint32_t>(Get16(s, at + 2)) << 16);
}

uint32_t Crc32(absl::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(bytes.size() - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), chunk);
    done += chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// ---- .npy header: a Python dict literal with 'descr', 'fortran_order', 'shape' ----
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class DictParser {
 public:
  explicit DictParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<NpyHeader> Parse() {
    NpyHeader header;
    bool have_descr = false, have_order = false, have_shape = false;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      FLOWRT_ASSIGN_OR_RETURN(std::string key, ParseString());
      SkipSpace();
      if (!Consume(':')) return Error("expected ':'");
      SkipSpace();
      if (key == "descr") {
        if (pos_ < text_.size() && text_[pos_] == '[') {
          return Error("structured dtypes (a list 'descr') are not supported");
        }
        FLOWRT_ASSIGN_OR_RETURN(header.descr, ParseString());
        have_descr = true;
      } else if (key == "fortran_order") {
        if (ConsumeWord("True")) {
          header.fortran_order = true;
        } else if (ConsumeWord("False")) {
          header.fortran_order = false;
        } else {
          return Error("'fortran_order' must be True or False");
        }
        have_order = true;
      } else if (key == "shape") {
        FLOWRT_ASSIGN_OR_RETURN(header.shape, ParseShape());
        have_shape = true;
      } else {
        return Error(absl::StrCat("unexpected key ", Quote(key)));
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing bytes after the dict");
    if (!have_descr || !have_order || !have_shape) {
      return Error("needs 'descr', 'fortran_order' and 'shape'");
    }
    return header;
  }

 private:
  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed .npy header at byte ", pos_, ": ", message));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(absl::string_view word) {
    if (absl::StartsWith(text_.substr(pos_), word)) {
      pos_ += word.size();
      return true;
    }
    return false;
  }
  absl::StatusOr<std::string> ParseString() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return Error("expected a quoted string");
    }
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == absl::string_view::npos || end - pos_ > 64) return Error("bad string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  absl::StatusOr<std::vector<int64_t>> ParseShape() {
    std::vector<int64_t> dims;
    if (!Consume('(')) return Error("'shape' must be a tuple");
    while (true) {
      SkipSpace();
      if (Consume(')')) break;
      size_t start = pos_;
      while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
      if (pos_ == start || pos_ - start > 18) return Error("bad dimension in 'shape'");
      int64_t dim = 0;
      if (!absl::SimpleAtoi(text_.substr(start, pos_ - start), &dim)) {
        return Error("bad dimension in 'shape'");
      }
      // numpy writes "(10L, 3L)" in files from Python 2.
      Consume('L');
      dims.push_back(dim);
      if (dims.size() > kMaxRank) return Error(absl::StrCat("rank above ", kMaxRank));
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume(')')) break;
      return Error("expected ',' or ')' in 'shape'");
    }
    return dims;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

// Maps a descr to a dtype; '=' and '|' and '<' are native little-endian here.
absl::StatusOr<DataType> DtypeFromDescr(const std::string& descr) {
  if (descr.size() < 2) return absl::InvalidArgumentError(absl::StrCat("bad dtype ", Quote(descr)));
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  if (order != '<' && order != '|' && order != '=' && order != '>') {
    return absl::InvalidArgumentError(absl::StrCat("bad dtype ", Quote(descr)));
  }
  for (const DtypeInfo& info : kDtypes) {
    if (kind != info.descr + 1) continue;
    if (order == '>' && ItemSize(info.dtype) > 1) {
      return absl::UnimplementedError(
          absl::StrCat("big-endian dtype ", Quote(descr),
                       " is not supported; convert with .astype(arr.dtype.newbyteorder('<'))"));
    }
    return info.dtype;
  }
  if (kind == "b1") {
    return absl::UnimplementedError(
        "bool arrays ('|b1') are not supported; convert with .astype(np.uint8)");
  }
  return absl::UnimplementedError(
      absl::StrCat("dtype ", Quote(descr),
                   " is not supported (supported: float32/64/16, int8/32/64, uint8, S1)"));
}

const char* DescrOf(DataType dtype) {
  for (const DtypeInfo& info : kDtypes) {
    if (info.dtype == dtype) return info.descr;
  }
  return nullptr;
}

std::string ShapeTuple(const Shape& shape) {
  std::string s = "(";
  for (int i = 0; i < shape.rank(); ++i) absl::StrAppend(&s, i ? ", " : "", shape[i]);
  if (shape.rank() == 1) s += ",";
  return s + ")";
}

// Copies Fortran-order `src` of `shape` into C-order `dst`.
void FortranToC(const char* src, char* dst, const Shape& shape, int64_t item) {
  const int rank = shape.rank();
  const int64_t n = shape.NumElements();
  std::vector<int64_t> f_stride(rank), index(rank, 0);
  int64_t stride = 1;
  for (int k = 0; k < rank; ++k) {
    f_stride[k] = stride;
    stride *= shape[k];
  }
  int64_t f_offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(dst + i * item, src + f_offset * item, item);
    // Increment the C-order multi-index (last axis fastest) and the Fortran offset with it.
    for (int k = rank - 1; k >= 0; --k) {
      ++index[k];
      f_offset += f_stride[k];
      if (index[k] < shape[k]) break;
      f_offset -= f_stride[k] * index[k];
      index[k] = 0;
    }
  }
}

// ---- ZIP ----
struct ZipEntry {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

absl::StatusOr<std::string> Inflate(absl::string_view in, uint64_t out_size,
                                    const std::string& what) {
  std::string out(out_size, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    return absl::InternalError(absl::StrCat(what, ": inflateInit2 failed"));
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = static_cast<uInt>(in.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&stream, Z_FINISH);
  // An empty output buffer may report Z_BUF_ERROR before seeing the end; retry with a probe byte
  // so that data beyond the declared size is detected rather than silently dropped.
  const uint64_t produced = stream.total_out;
  char probe;
  if (rc != Z_STREAM_END && produced == out_size) {
    stream.next_out = reinterpret_cast<Bytef*>(&probe);
    stream.avail_out = 1;
    rc = inflate(&stream, Z_FINISH);
  }
  const uint64_t total = stream.total_out;
  const char* message = stream.msg;
  inflateEnd(&stream);
  if (total > out_size) {
    return absl::DataLossError(
        absl::StrCat(what, ": inflates to more than its declared ", out_size, " bytes"));
  }
  if (rc != Z_STREAM_END) {
    return absl::DataLossError(
        absl::StrCat(what, ": corrupt deflate data (", message ? message : "truncated", ")"));
  }
  if (total != out_size) {
    return absl::DataLossError(
        absl::StrCat(what, ": inflates to ", total, " bytes, declared ", out_size));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> EncodeNpy(const Tensor& tensor) {
  if (!tensor.defined()) return absl::InvalidArgumentError("undefined tensor");
  const char* descr = DescrOf(tensor.dtype());
  if (descr == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype ", DataTypeName(tensor.dtype()), " has no .npy equivalent"));
  }
  std::string dict =
      absl::StrCat("{'descr': '", descr,
                   "', 'fortran_order': False, 'shape': ", ShapeTuple(tensor.shape()), ", }");
  // magic(6) + version(2) + length(2) + dict + padding + '\n' is a multiple of 64.
  const size_t unpadded = kNpyMagicLen + 2 + 2 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  if (dict.size() > 0xffff) return absl::InvalidArgumentError("shape too long for .npy v1.0");
  std::string out(kNpyMagic, kNpyMagicLen);
  out.push_back(1);
  out.push_back(0);
  Put16(out, static_cast<uint16_t>(dict.size()));
  out += dict;
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.num_bytes());
  return out;
}

absl::StatusOr<Tensor> DecodeNpy(absl::string_view bytes, absl::string_view what) {
  auto error = [&](absl::Status status) {
    return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
  };
  if (bytes.size() < kNpyMagicLen + 4 || bytes.substr(0, kNpyMagicLen) != kNpyMagic) {
    return error(absl::InvalidArgumentError("not a .npy file (bad magic)"));
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = Get16(bytes, 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return error(absl::InvalidArgumentError("truncated .npy header"));
    header_len = Get32(bytes, 8);
    header_start = 12;
  } else {
    return error(absl::UnimplementedError(absl::StrCat(".npy version ", major, " not supported")));
  }
  if (header_len > kMaxNpyHeaderBytes || header_start + header_len > bytes.size()) {
    return error(absl::InvalidArgumentError(
        absl::StrCat(".npy header length ", header_len, " exceeds the file")));
  }
  absl::StatusOr<NpyHeader> header = DictParser(bytes.substr(header_start, header_len)).Parse();
  if (!header.ok()) return error(header.status());
  absl::StatusOr<DataType> dtype = DtypeFromDescr(header->descr);
  if (!dtype.ok()) return error(dtype.status());
  const Shape shape(header->shape);
  std::optional<int64_t> elements = shape.CheckedNumElements();
  const int64_t item = ItemSize(*dtype);
  const uint64_t data_bytes = bytes.size() - header_start - header_len;
  if (!elements.has_value() || *elements > std::numeric_limits<int64_t>::max() / item ||
      static_cast<uint64_t>(*elements * item) != data_bytes) {
    return error(absl::InvalidArgumentError(
        absl::StrCat("shape ", shape.ToString(), " of ", header->descr, " needs ",
                     elements.has_value() ? absl::StrCat(*elements, " x ", item) : "too many",
                     " bytes but the data has ", data_bytes)));
  }
  Tensor tensor(shape, *dtype);
  const char* data = bytes.data() + header_start + header_len;
  if (header->fortran_order && shape.rank() > 1) {
    FortranToC(data, static_cast<char*>(tensor.raw_data()), shape, item);
  } else if (data_bytes > 0) {
    std::memcpy(tensor.raw_data(), data, data_bytes);
  }
  return tensor;
}

absl::StatusOr<std::string> EncodeNpz(const NamedTensors& arrays) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : arrays) names.push_back(name);
  FLOWRT_RETURN_IF_ERROR(CheckDistinctVariableNames(names));
  if (arrays.size() >= 0xffff)
    return absl::InvalidArgumentError("too many arrays for ZIP (no ZIP64)");
  std::string out, central;
  for (const auto& [name, tensor] : arrays) {
    absl::StatusOr<std::string> npy = EncodeNpy(tensor);
    if (!npy.ok()) {
      return absl::Status(npy.status().code(),
                          absl::StrCat("variable ", Quote(name), ": ", npy.status().message()));
    }
    const std::string file = name + ".npy";
    if (npy->size() >= kMaxZip32 || out.size() >= kMaxZip32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable ", Quote(name), ": archive would reach 4 GiB; ZIP64 is not supported"));
    }
    const uint32_t crc = Crc32(*npy), size = static_cast<uint32_t>(npy->size());
    const uint32_t offset = static_cast<uint32_t>(out.size());
    // Local file header.
    Put32(out, kLocalSig);
    Put16(out, 20);  // version needed: 2.0
    Put16(out, 0);   // flags
    Put16(out, 0);   // stored
    Put16(out, 0);   // time
    Put16(out, kDosDate1980);
    Put32(out, crc);
    Put32(out, size);
    Put32(out, size);
    Put16(out, static_cast<uint16_t>(file.size()));
    Put16(out, 0);  // extra
    out += file;
    out += *npy;
    // Central directory header.
    Put32(central, kCentralSig);
    Put16(central, (3 << 8) | 20);  // made by: Unix, 2.0
    Put16(central, 20);
    Put16(central, 0);
    Put16(central, 0);
    Put16(central, 0);
    Put16(central, kDosDate1980);
    Put32(central, crc);
    Put32(central, size);
    Put32(central, size);
    Put16(central, static_cast<uint16_t>(file.size()));
    Put16(central, 0);            // extra
    Put16(central, 0);            // comment
    Put16(central, 0);            // disk
    Put16(central, 0);            // internal attributes
    Put32(central, 0644u << 16);  // external attributes: -rw-r--r--
    Put32(central, offset);
    central += file;
  }
  if (out.size() + central.size() >= kMaxZip32) {
    return absl::InvalidArgumentError("archive would reach 4 GiB; ZIP64 is not supported");
  }
  const uint32_t central_offset = static_cast<uint32_t>(out.size());
  out += central;
  Put32(out, kEndSig);
  Put16(out, 0);
  Put16(out, 0);
  Put16(out, static_cast<uint16_t>(arrays.size()));
  Put16(out, static_cast<uint16_t>(arrays.size()));
  Put32(out, static_cast<uint32_t>(central.size()));
  Put32(out, central_offset);
  Put16(out, 0);  // comment
  return out;
}

absl::StatusOr<NamedTensors> DecodeNpz(absl::string_view bytes, absl::string_view what_view) {
  const std::string what(what_view);
  auto bad = [&](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", message));
  };
  if (bytes.size() >= kMaxZip32) return bad("archive of 4 GiB or more (ZIP64 is not supported)");
  // End of central directory: the last 22+ bytes, after a comment of at most 65535 bytes.
  if (bytes.size() < 22) return bad("not a ZIP/.npz file (too short)");
  std::optional<size_t> end;
  const size_t lowest = bytes.size() > 22 + 0xffff ? bytes.size() - 22 - 0xffff : 0;
  for (size_t at = bytes.size() - 22 + 1; at-- > lowest;) {
    if (Get32(bytes, at) == kEndSig && at + 22 + Get16(bytes, at + 20) == bytes.size()) {
      end = at;
      break;
    }
  }
  if (!end.has_value()) {
    return bad("not a ZIP/.npz file or truncated (no end of central directory record)");
  }
  const uint16_t disk = Get16(bytes, *end + 4), cd_disk = Get16(bytes, *end + 6);
  const uint16_t count_here = Get16(bytes, *end + 8), count = Get16(bytes, *end + 10);
  const uint32_t cd_size = Get32(bytes, *end + 12), cd_offset = Get32(bytes, *end + 16);
  if (count == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
    return absl::UnimplementedError(absl::StrCat(what, ": ZIP64 archives are not supported"));
  }
  if (disk != 0 || cd_disk != 0 || count_here != count) {
    return absl::UnimplementedError(
        absl::StrCat(what, ": multi-disk ZIP archives are not supported"));
  }
  if (uint64_t{cd_offset} + cd_size > *end) {
    return bad("central directory lies outside the file (truncated?)");
  }
  std::vector<ZipEntry> entries;
  size_t at = cd_offset;
  const size_t cd_end = size_t{cd_offset} + cd_size;
  for (int i = 0; i < count; ++i) {
    if (at + 46 > cd_end || Get32(bytes, at) != kCentralSig) {
      return bad(absl::StrCat("central directory entry ", i, " is malformed"));
    }
    ZipEntry e;
    e.flags = Get16(bytes, at + 8);
    e.method = Get16(bytes, at + 10);
    e.crc = Get32(bytes, at + 16);
    e.compressed = Get32(bytes, at + 20);
    e.uncompressed = Get32(bytes, at + 24);
    const size_t name_len = Get16(bytes, at + 28), extra_len = Get16(bytes, at + 30),
                 comment_len = Get16(bytes, at + 32);
    e.local_offset = Get32(bytes, at + 42);
    if (at + 46 + name_len + extra_len + comment_len > cd_end) {
      return bad(absl::StrCat("central directory entry ", i, " overruns the directory"));
    }
    e.name = std::string(bytes.substr(at + 46, name_len));
    at += 46 + name_len + extra_len + comment_len;
    const std::string entry_what = absl::StrCat(what, ": entry ", Quote(e.name));
    if (e.compressed == 0xffffffffu || e.uncompressed == 0xffffffffu ||
        e.local_offset == 0xffffffffu) {
      return absl::UnimplementedError(
          absl::StrCat(entry_what, ": ZIP64 entries are not supported"));
    }
    if (e.flags & 0x1) {
      return absl::UnimplementedError(
          absl::StrCat(entry_what, ": encrypted entries are not supported"));
    }
    entries.push_back(std::move(e));
  }

  NamedTensors arrays;
  std::vector<std::string> names;
  for (const ZipEntry& e : entries) {
    const std::string entry_what = absl::StrCat(what, ": entry ", Quote(e.name));
    if (!absl::EndsWith(e.name, ".npy")) {
      return absl::InvalidArgumentError(absl::StrCat(entry_what, ": not a .npy entry"));
    }
    const std::string name = e.name.substr(0, e.name.size() - 4);
    absl::Status name_ok = CheckVariableName(name);
    if (!name_ok.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(entry_what, ": ", name_ok.message()));
    }
    names.push_back(name);
    // The local header: its own name and extra lengths decide where the data starts.
    const uint64_t lh = e.local_offset;
    if (lh + 30 > cd_offset || Get32(bytes, lh) != kLocalSig) {
      return absl::InvalidArgumentError(absl::StrCat(entry_what, ": bad local header offset"));
    }
    const uint64_t data_start = lh + 30 + Get16(bytes, lh + 26) + Get16(bytes, lh + 28);
    if (Get16(bytes, lh + 26) != e.name.size() || bytes.substr(lh + 30, e.name.size()) != e.name) {
      return absl::InvalidArgumentError(
          absl::StrCat(entry_what, ": local header name differs from the central directory"));
    }
    if (data_start + e.compressed > cd_offset) {
      return absl::DataLossError(absl::StrCat(entry_what, ": declares ", e.compressed,
                                              " bytes beyond the end of the data (truncated?)"));
    }
    const absl::string_view raw = bytes.substr(data_start, e.compressed);
    std::string inflated;
    absl::string_view npy;
    if (e.method == 0) {
      if (e.compressed != e.uncompressed) {
        return absl::InvalidArgumentError(
            absl::StrCat(entry_what, ": stored entry with differing sizes"));
      }
      npy = raw;
    } else if (e.method == 8) {
      if (e.uncompressed > e.compressed * kMaxDeflateRatio + 1024) {
        return absl::InvalidArgumentError(
            absl::StrCat(entry_what, ": declares ", e.uncompressed, " bytes from ", e.compressed,
                         " compressed, beyond deflate's maximum ratio"));
      }
      FLOWRT_ASSIGN_OR_RETURN(inflated, Inflate(raw, e.uncompressed, entry_what));
      npy = inflated;
    } else {
      return absl::UnimplementedError(absl::StrCat(entry_what, ": compression method ", e.method,
                                                   " (only stored and deflate)"));
    }
    const uint32_t crc = Crc32(npy);
    if (crc != e.crc) {
      return absl::DataLossError(absl::StrFormat("%s: CRC32 mismatch (stored %08x, computed %08x)",
                                                 entry_what, e.crc, crc));
    }
    FLOWRT_ASSIGN_OR_RETURN(Tensor tensor, DecodeNpy(npy, entry_what));
    arrays.emplace_back(name, std::move(tensor));
  }
  absl::Status distinct = CheckDistinctVariableNames(names);
  if (!distinct.ok())
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", distinct.message()));
  return arrays;
}

absl::Status WriteNpz(const std::string& path, const NamedTensors& arrays) {
  FLOWRT_ASSIGN_OR_RETURN(std::string bytes, EncodeNpz(arrays));
  return WriteFileAtomically(path, bytes);
}

absl::StatusOr<NamedTensors> ReadNpz(const std::string& path) {
  struct stat st;
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd fd, OpenRegularFileAt(AT_FDCWD, path, path, &st));
  if (st.st_size >= kMaxFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", st.st_size, " bytes; ZIP64 (4 GiB or more) is not supported"));
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  FLOWRT_RETURN_IF_ERROR(ReadExactly(fd.get(), bytes.data(), bytes.size(), path));
  FLOWRT_RETURN_IF_ERROR(ExpectEndOfFile(fd.get(), path));
  return DecodeNpz(bytes, path);
}

}  // namespace flow::checkpoint

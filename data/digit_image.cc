#include "data/digit_image.h"

#include <spng.h>

#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "data/gzip_file.h"
#include "data/idx.h"
#include "runtime/status.h"

namespace flow::data {
namespace {

constexpr char kPngSignature[] = "\x89PNG\r\n\x1a\n";
constexpr int64_t kSide = kMnistImageSide;

absl::Status Refuse(const std::string& name, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", why));
}

absl::Status WrongSize(const std::string& name, absl::string_view kind, int64_t width,
                       int64_t height) {
  return Refuse(name, absl::StrCat(kind, " is ", width, "x", height,
                                   "; flowrt predict takes 28x28 grayscale images as MNIST's "
                                   "(white digit on black), and does not resize"));
}

// (1, 1, 28, 28) f32 from 784 bytes.
Tensor FromBytes(const uint8_t* pixels) {
  Tensor t(Shape({1, 1, kSide, kSide}), DataType::kFloat);
  float* dst = t.data<float>();
  for (int64_t i = 0; i < kSide * kSide; ++i) dst[i] = static_cast<float>(pixels[i]) / 255.0f;
  return t;
}

absl::StatusOr<Tensor> DecodePng(absl::string_view bytes, const std::string& name) {
  std::unique_ptr<spng_ctx, decltype(&spng_ctx_free)> ctx(spng_ctx_new(0), spng_ctx_free);
  if (ctx == nullptr) return absl::ResourceExhaustedError("libspng: no context");
  // Caps before libspng reads the header: it refuses larger images and chunks itself.
  spng_set_image_limits(ctx.get(), kMaxPngSide, kMaxPngSide);
  spng_set_chunk_limits(ctx.get(), 1 << 20, 4 << 20);
  spng_set_crc_action(ctx.get(), SPNG_CRC_ERROR, SPNG_CRC_ERROR);
  if (int err = spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size()); err != 0) {
    return Refuse(name, absl::StrCat("PNG: ", spng_strerror(err)));
  }
  spng_ihdr ihdr;
  if (int err = spng_get_ihdr(ctx.get(), &ihdr); err != 0) {
    return Refuse(name, absl::StrCat("not a readable PNG: ", spng_strerror(err)));
  }
  if (ihdr.color_type != SPNG_COLOR_TYPE_GRAYSCALE || ihdr.bit_depth > 8) {
    return Refuse(name, absl::StrCat("PNG has colour type ", ihdr.color_type, " and bit depth ",
                                     ihdr.bit_depth,
                                     "; flowrt predict takes 8-bit grayscale (colour type 0)"));
  }
  if (ihdr.width != kSide || ihdr.height != kSide) {
    return WrongSize(name, "PNG", ihdr.width, ihdr.height);
  }
  uint8_t pixels[kSide * kSide];
  size_t size = 0;
  if (int err = spng_decoded_image_size(ctx.get(), SPNG_FMT_G8, &size);
      err != 0 || size != sizeof(pixels)) {
    return Refuse(name, absl::StrCat("PNG: cannot decode to 8-bit gray: ", spng_strerror(err)));
  }
  if (int err = spng_decode_image(ctx.get(), pixels, sizeof(pixels), SPNG_FMT_G8, 0); err != 0) {
    return absl::DataLossError(
        absl::StrCat(name, ": corrupt or truncated PNG: ", spng_strerror(err)));
  }
  return FromBytes(pixels);
}

// Binary PGM: "P5" whitespace width whitespace height whitespace maxval, one whitespace byte, then
// width*height bytes (maxval 255). Comments (# to end of line) may sit between header fields.
absl::StatusOr<Tensor> DecodePgm(absl::string_view bytes, const std::string& name) {
  size_t pos = 2;
  int64_t fields[3];
  for (int64_t& field : fields) {
    while (pos < bytes.size() && (absl::ascii_isspace(bytes[pos]) || bytes[pos] == '#')) {
      if (bytes[pos] == '#') {
        while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
      } else {
        ++pos;
      }
    }
    const size_t start = pos;
    while (pos < bytes.size() && pos - start < 9 && absl::ascii_isdigit(bytes[pos])) ++pos;
    if (pos == start || !absl::SimpleAtoi(bytes.substr(start, pos - start), &field) ||
        (pos < bytes.size() && absl::ascii_isdigit(bytes[pos]))) {
      return Refuse(name, "bad PGM header: expected \"P5 <width> <height> <maxval>\"");
    }
  }
  if (pos >= bytes.size() || !absl::ascii_isspace(bytes[pos])) {
    return Refuse(name, "bad PGM header: no whitespace after maxval");
  }
  ++pos;
  if (fields[2] != 255) {
    return Refuse(name, absl::StrCat("PGM maxval is ", fields[2],
                                     "; flowrt predict takes 8-bit PGMs (maxval 255)"));
  }
  if (fields[0] != kSide || fields[1] != kSide) return WrongSize(name, "PGM", fields[0], fields[1]);
  if (bytes.size() - pos != static_cast<size_t>(kSide * kSide)) {
    return absl::DataLossError(absl::StrCat(name, ": PGM holds ", bytes.size() - pos,
                                            " pixel bytes, its header says ", kSide * kSide));
  }
  return FromBytes(reinterpret_cast<const uint8_t*>(bytes.data() + pos));
}

}  // namespace

absl::StatusOr<Tensor> DecodeDigitImage(absl::string_view bytes, const std::string& name) {
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPngSignature, 8) == 0) {
    return DecodePng(bytes, name);
  }
  if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] == '5') return DecodePgm(bytes, name);
  if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '7') {
    return Refuse(name, absl::StrCat("a P", std::string(1, bytes[1]),
                                     " Netpbm file; only binary PGM (P5) is read"));
  }
  return Refuse(name, "not a PNG, binary PGM (P5) or IDX images file (by its first bytes)");
}

absl::StatusOr<Tensor> ReadDigitImages(const std::string& path) {
  FLOWRT_ASSIGN_OR_RETURN(std::string bytes, ReadMaybeGzipFile(path, kMaxDigitFileBytes));
  const bool idx = bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 8;
  if (!idx) return DecodeDigitImage(bytes, path);
  // IDX: data/idx.h validates magic, rank, dims and size; (N, 28, 28) u8 → (N, 1, 28, 28) f32.
  FLOWRT_ASSIGN_OR_RETURN(Tensor u8, ReadIdxImages(path));
  const int64_t n = u8.shape()[0];
  if (n < 1) return Refuse(path, "IDX images file holds no image");
  Tensor images(Shape({n, 1, kSide, kSide}), DataType::kFloat);
  const uint8_t* src = u8.data<uint8_t>();
  float* dst = images.data<float>();
  for (int64_t i = 0; i < u8.num_elements(); ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
  return images;
}

}  // namespace flow::data

// Digit images for `flowrt predict`: 28x28 gray PNG, PGM and IDX files read as MNIST pixels;
// truncated, huge, colour, wrongly sized and malformed files refused with the file name.
#include "data/digit_image.h"

#include <gtest/gtest.h>
#include <spng.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "data/idx.h"
#include "tests/testing/scratch_dir.h"

namespace flow::data {
namespace {

std::string EncodePng(uint32_t width, uint32_t height, uint8_t color_type,
                      const std::vector<uint8_t>& pixels) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr = {};
  ihdr.width = width;
  ihdr.height = height;
  ihdr.bit_depth = 8;
  ihdr.color_type = color_type;
  EXPECT_EQ(spng_set_ihdr(ctx, &ihdr), 0);
  std::vector<uint8_t> copy = pixels;
  EXPECT_EQ(spng_encode_image(ctx, copy.data(), copy.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE),
            0);
  size_t size = 0;
  int err = 0;
  void* buffer = spng_get_png_buffer(ctx, &size, &err);
  EXPECT_EQ(err, 0);
  std::string png(static_cast<const char*>(buffer), size);
  std::free(buffer);
  spng_ctx_free(ctx);
  return png;
}

std::vector<uint8_t> Ramp(size_t n) {
  std::vector<uint8_t> pixels(n);
  for (size_t i = 0; i < n; ++i) pixels[i] = static_cast<uint8_t>(i % 256);
  return pixels;
}

class DigitImageTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.File(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // The error reading `bytes` as a file; fails the test if it is read.
  std::string Refusal(const std::string& name, const std::string& bytes) {
    const std::string path = Write(name, bytes);
    absl::StatusOr<Tensor> images = ReadDigitImages(path);
    EXPECT_FALSE(images.ok()) << name << " was accepted";
    if (images.ok()) return "";
    EXPECT_TRUE(absl::StrContains(images.status().message(), path)) << images.status();
    return std::string(images.status().message());
  }
  testing::ScratchDir dir_;
};

void ExpectRamp(const Tensor& images) {
  ASSERT_EQ(images.shape(), Shape({1, 1, 28, 28}));
  for (int i = 0; i < 784; ++i) ASSERT_FLOAT_EQ(images.data<float>()[i], (i % 256) / 255.0f) << i;
}

TEST_F(DigitImageTest, ReadsAGray28x28PngAsMnistPixels) {
  absl::StatusOr<Tensor> images = ReadDigitImages(Write("a.png", EncodePng(28, 28, 0, Ramp(784))));
  ASSERT_TRUE(images.ok()) << images.status();
  ExpectRamp(*images);
}

TEST_F(DigitImageTest, RefusesATruncatedPng) {
  const std::string png = EncodePng(28, 28, 0, Ramp(784));
  const std::string why = Refusal("cut.png", png.substr(0, png.size() / 2));
  EXPECT_TRUE(absl::StrContains(why, "PNG")) << why;
}

TEST_F(DigitImageTest, RefusesHugePngDimensionsBeforeDecoding) {
  std::string png = EncodePng(28, 28, 0, Ramp(784));
  // IHDR data starts at byte 16 (8 signature, 4 length, 4 type): width, height big-endian. Set
  // both to 2^30 and fix the chunk's CRC (over type and data, bytes 12..28) so only the size is
  // wrong.
  for (int offset : {16, 20}) {
    png[offset] = 0x40;
    png[offset + 1] = png[offset + 2] = png[offset + 3] = 0;
  }
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  const std::string why = Refusal("huge.png", png);
  EXPECT_TRUE(absl::StrContains(why, "limit")) << why;
}

TEST_F(DigitImageTest, RefusesAColourPng) {
  const std::string why = Refusal("rgb.png", EncodePng(28, 28, 2, Ramp(3 * 784)));
  EXPECT_TRUE(absl::StrContains(why, "grayscale")) << why;
}

TEST_F(DigitImageTest, RefusesAnotherSizeRatherThanResizing) {
  const std::string why = Refusal("small.png", EncodePng(20, 20, 0, Ramp(400)));
  EXPECT_TRUE(absl::StrContains(why, "20x20")) << why;
}

std::string Pgm(const std::string& header, size_t pixels) {
  const std::vector<uint8_t> ramp = Ramp(pixels);
  return header + std::string(ramp.begin(), ramp.end());
}

TEST_F(DigitImageTest, ReadsABinaryPgmWithAComment) {
  absl::StatusOr<Tensor> images =
      ReadDigitImages(Write("a.pgm", Pgm("P5\n# gimp\n28 28\n255\n", 784)));
  ASSERT_TRUE(images.ok()) << images.status();
  ExpectRamp(*images);
}

TEST_F(DigitImageTest, RefusesABadPgmHeader) {
  EXPECT_TRUE(absl::StrContains(Refusal("x.pgm", Pgm("P5 28 x 255\n", 784)), "PGM header"));
  EXPECT_TRUE(
      absl::StrContains(Refusal("big.pgm", Pgm("P5 99999999999 28 255\n", 784)), "PGM header"));
  EXPECT_TRUE(absl::StrContains(Refusal("deep.pgm", Pgm("P5 28 28 65535\n", 1568)), "maxval"));
}

TEST_F(DigitImageTest, RefusesATruncatedPgm) {
  EXPECT_TRUE(absl::StrContains(Refusal("cut.pgm", Pgm("P5 28 28 255\n", 700)), "700"));
}

TEST_F(DigitImageTest, ReadsEveryImageOfAnIdxFile) {
  Tensor u8(Shape({3, 28, 28}), DataType::kUInt8);
  for (int i = 0; i < 3 * 784; ++i) u8.data<uint8_t>()[i] = static_cast<uint8_t>(i % 251);
  absl::StatusOr<Tensor> images = ReadDigitImages(Write("t.idx", EncodeIdx(u8)));
  ASSERT_TRUE(images.ok()) << images.status();
  ASSERT_EQ(images->shape(), Shape({3, 1, 28, 28}));
  EXPECT_FLOAT_EQ(images->data<float>()[2 * 784 + 5], ((2 * 784 + 5) % 251) / 255.0f);
}

TEST_F(DigitImageTest, RefusesAnIdxFileWithTheWrongMagic) {
  Tensor labels(Shape({5}), DataType::kUInt8);
  EXPECT_FALSE(Refusal("labels.idx", EncodeIdx(labels)).empty());
}

TEST_F(DigitImageTest, RefusesAFileOfAnotherKind) {
  const std::string why = Refusal("a.jpg", "\xff\xd8\xff\xe0 not really a jpeg");
  EXPECT_TRUE(absl::StrContains(why, "not a PNG")) << why;
  EXPECT_TRUE(absl::StrContains(Refusal("empty.png", ""), "not a PNG"));
}

}  // namespace
}  // namespace flow::data

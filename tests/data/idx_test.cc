#include "data/idx.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "data/gzip_file.h"
#include "tests/data/mnist_fixtures.h"

namespace flow::data {
namespace {

using ::flow::data::testing::BigEndian32;
using ::flow::data::testing::ScratchDir;
using ::flow::data::testing::TinyImages;
using ::flow::data::testing::TinyLabels;
using ::flow::data::testing::WriteBytes;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Header of an image file with the given magic and dims, then `payload` zero bytes.
std::string ImageFileBytes(uint32_t magic, std::vector<uint32_t> dims, size_t payload) {
  std::string bytes = BigEndian32(magic);
  for (uint32_t d : dims) bytes += BigEndian32(d);
  return bytes + std::string(payload, '\0');
}

TEST(IdxTest, ReadsPlainImagesWithHeaderShapeAndBytes) {
  ScratchDir dir;
  const Tensor images = TinyImages(3, 0);
  WriteBytes(dir.File("images"), EncodeIdx(images));
  absl::StatusOr<Tensor> read = ReadIdxImages(dir.File("images"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shape(), Shape({3, 28, 28}));
  EXPECT_EQ(read->dtype(), kUInt8);
  EXPECT_TRUE(read->BitwiseEqual(images));
}

TEST(IdxTest, EncodeIdxWritesMnistMagicAndBigEndianDims) {
  const std::string bytes = EncodeIdx(TinyLabels(300, 0));
  EXPECT_EQ(bytes.substr(0, 8), BigEndian32(0x00000801) + BigEndian32(300));
  EXPECT_EQ(bytes.size(), 8u + 300u);
  EXPECT_EQ(EncodeIdx(TinyImages(2, 0)).substr(0, 4), BigEndian32(0x00000803));
}

TEST(IdxTest, ReadsGzipFilesByContent) {
  ScratchDir dir;
  const Tensor labels = TinyLabels(50, 3);
  WriteBytes(dir.File("labels.gz"), EncodeIdx(labels));
  // A gzip stream under a plain name still reads: detection is by the 1f 8b magic.
  std::filesystem::copy_file(dir.File("labels.gz"), dir.File("renamed"));
  for (const char* name : {"labels.gz", "renamed"}) {
    absl::StatusOr<Tensor> read = ReadIdxLabels(dir.File(name));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_TRUE(read->BitwiseEqual(labels)) << name;
  }
  // And it really was compressed.
  absl::StatusOr<std::string> raw = ReadMaybeGzipFile(dir.File("labels.gz"));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, EncodeIdx(labels));
  EXPECT_NE(std::filesystem::file_size(dir.File("labels.gz")), raw->size());
}

TEST(IdxTest, BadMagicIsInvalidArgumentNamingFile) {
  ScratchDir dir;
  WriteBytes(dir.File("junk"), ImageFileBytes(0x12345678, {1, 28, 28}, 784));
  absl::Status status = ReadIdxImages(dir.File("junk")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr(dir.File("junk")),
                                      HasSubstr("bad magic 0x12345678"), HasSubstr("0x00000803")));
}

TEST(IdxTest, NonUnsignedByteElementTypeIsRejected) {
  ScratchDir dir;
  WriteBytes(dir.File("floats"), ImageFileBytes(0x00000D03, {1, 28, 28}, 784 * 4));
  absl::Status status = ReadIdxImages(dir.File("floats")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("floats"), HasSubstr("0x0D (float32)")));
}

TEST(IdxTest, SwappedImagesAndLabelsFilesSayWhichIsWhich) {
  ScratchDir dir;
  WriteBytes(dir.File("labels"), EncodeIdx(TinyLabels(4, 0)));
  WriteBytes(dir.File("images"), EncodeIdx(TinyImages(4, 0)));
  absl::Status as_images = ReadIdxImages(dir.File("labels")).status();
  EXPECT_EQ(as_images.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(as_images.message(),
              AllOf(HasSubstr(dir.File("labels")), HasSubstr("rank 1, expected rank 3"),
                    HasSubstr("labels file")));
  absl::Status as_labels = ReadIdxLabels(dir.File("images")).status();
  EXPECT_EQ(as_labels.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(as_labels.message(),
              AllOf(HasSubstr("rank 3, expected rank 1"), HasSubstr("images file")));
}

TEST(IdxTest, ImagesThatAreNot28x28AreRejected) {
  ScratchDir dir;
  WriteBytes(dir.File("cifar"), ImageFileBytes(0x00000803, {2, 32, 32}, 2 * 32 * 32));
  absl::Status status = ReadIdxImages(dir.File("cifar")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("cifar"), HasSubstr("32x32"), HasSubstr("expected 28x28")));
  // The generic reader takes any dims.
  absl::StatusOr<Tensor> any = ReadIdx(dir.File("cifar"), 3);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->shape(), Shape({2, 32, 32}));
}

TEST(IdxTest, TruncatedPayloadIsDataLossWithBothSizes) {
  ScratchDir dir;
  std::string bytes = EncodeIdx(TinyImages(2, 0));
  bytes.pop_back();
  WriteBytes(dir.File("short"), bytes);
  absl::Status status = ReadIdxImages(dir.File("short")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr(dir.File("short")), HasSubstr("truncated"),
                                      HasSubstr("1568"), HasSubstr("1567")));
}

TEST(IdxTest, TruncatedHeaderAndTinyFilesAreRejected) {
  ScratchDir dir;
  WriteBytes(dir.File("half_header"), EncodeIdx(TinyImages(1, 0)).substr(0, 10));
  absl::Status status = ReadIdxImages(dir.File("half_header")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("half_header"), HasSubstr("truncated header")));

  WriteBytes(dir.File("two_bytes"), std::string(2, '\0'));
  status = ReadIdxLabels(dir.File("two_bytes")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("two_bytes"), HasSubstr("too short")));

  WriteBytes(dir.File("empty"), "");
  EXPECT_EQ(ReadIdxLabels(dir.File("empty")).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdxTest, TrailingBytesAreDataLoss) {
  ScratchDir dir;
  WriteBytes(dir.File("long"), EncodeIdx(TinyLabels(5, 0)) + "xyz");
  absl::Status status = ReadIdxLabels(dir.File("long")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("long"), HasSubstr("3 trailing bytes")));
}

TEST(IdxTest, HostileCountIsRejectedBeforeAllocating) {
  ScratchDir dir;
  // Claims 2^32-1 images (3.4 TB) but holds one: must fail fast, not try to allocate.
  WriteBytes(dir.File("liar"), ImageFileBytes(0x00000803, {0xFFFFFFFFu, 28, 28}, 784));
  absl::Status status = ReadIdxImages(dir.File("liar")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("truncated"));
  // Dims whose product overflows int64.
  WriteBytes(dir.File("overflow"),
             ImageFileBytes(0x00000803, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, 0));
  status = ReadIdx(dir.File("overflow"), 3).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("overflow"));
}

TEST(IdxTest, TruncatedGzipStreamIsDataLoss) {
  ScratchDir dir;
  WriteBytes(dir.File("whole.gz"), EncodeIdx(TinyImages(20, 0)));
  absl::StatusOr<std::string> compressed = [&]() -> absl::StatusOr<std::string> {
    // Read the raw compressed bytes (ReadMaybeGzipFile would inflate them).
    std::string bytes(std::filesystem::file_size(dir.File("whole.gz")), '\0');
    std::FILE* f = std::fopen(dir.File("whole.gz").c_str(), "rb");
    if (f == nullptr) return absl::InternalError("open");
    const size_t got = std::fread(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    bytes.resize(got);
    return bytes;
  }();
  ASSERT_TRUE(compressed.ok());
  ASSERT_GT(compressed->size(), 40u);
  std::FILE* f = std::fopen(dir.File("cut.gz").c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(compressed->data(), 1, compressed->size() / 2, f);
  std::fclose(f);
  absl::Status status = ReadIdxImages(dir.File("cut.gz")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("cut.gz"), HasSubstr("gzip")));
}

TEST(IdxTest, GzipBombIsCappedByMaxBytes) {
  ScratchDir dir;
  WriteBytes(dir.File("big.gz"), std::string(5 << 20, 'a'));
  absl::Status status = ReadMaybeGzipFile(dir.File("big.gz"), /*max_bytes=*/1 << 20).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("limit"));
}

TEST(IdxTest, MissingFileIsNotFoundAndDirectoryIsNotAFile) {
  ScratchDir dir;
  absl::Status status = ReadIdxImages(dir.File("nope")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(dir.File("nope")));
  status = ReadIdxImages(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a regular file"));
}

// The gzip twins of the plain-file size checks: a gzip stream's size is only known by inflating it,
// so these are caught while reading, with the same messages.
TEST(IdxTest, GzipPayloadShorterOrLongerThanTheHeaderIsDataLoss) {
  ScratchDir dir;
  std::string bytes = EncodeIdx(TinyImages(2, 0));
  bytes.pop_back();
  WriteBytes(dir.File("short.gz"), bytes);
  absl::Status status = ReadIdxImages(dir.File("short.gz")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr(dir.File("short.gz")), HasSubstr("truncated"),
                                      HasSubstr("1568"), HasSubstr("1567")));

  WriteBytes(dir.File("long.gz"), EncodeIdx(TinyLabels(5, 0)) + "xyz");
  status = ReadIdxLabels(dir.File("long.gz")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("long.gz"), HasSubstr("3 trailing bytes")));
}

TEST(IdxTest, GzipHeaderPastTheInflationLimitIsRefusedBeforeAllocating) {
  ScratchDir dir;
  // Claims 2^32-1 images (3.4 TB): refused from the header, not by trying to allocate it.
  WriteBytes(dir.File("liar.gz"), ImageFileBytes(0x00000803, {0xFFFFFFFFu, 28, 28}, 784));
  absl::Status status = ReadIdxImages(dir.File("liar.gz")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr(dir.File("liar.gz")), HasSubstr("limit")));
}

TEST(IdxTest, PlainFileLargerThanMaxBytesIsDataLoss) {
  ScratchDir dir;
  WriteBytes(dir.File("big"), std::string(3000, 'a'));
  absl::Status status = ReadMaybeGzipFile(dir.File("big"), /*max_bytes=*/2048).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), AllOf(HasSubstr(dir.File("big")), HasSubstr("2048-byte limit")));
  absl::StatusOr<std::string> whole = ReadMaybeGzipFile(dir.File("big"), /*max_bytes=*/3000);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(*whole, std::string(3000, 'a'));
}

TEST(MaybeGzipReaderTest, ReadsPlainAndGzipInPiecesToTheSameBytes) {
  ScratchDir dir;
  std::string bytes;
  for (int i = 0; i < 10000; ++i) bytes.push_back(static_cast<char>(i * 7 % 251));
  WriteBytes(dir.File("plain"), bytes);
  WriteBytes(dir.File("packed.gz"), bytes);
  for (const char* name : {"plain", "packed.gz"}) {
    absl::StatusOr<MaybeGzipReader> in = MaybeGzipReader::Open(dir.File(name));
    ASSERT_TRUE(in.ok()) << in.status();
    EXPECT_EQ(in->path(), dir.File(name));
    // Only a plain file's size is known before reading.
    EXPECT_EQ(in->plain_size(),
              std::string(name) == "plain" ? std::optional<int64_t>(10000) : std::nullopt);
    std::string read(10000 + 5, '\0');
    absl::StatusOr<size_t> first = in->Read(read.data(), 3);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(*first, 3u) << name;
    // Asking for more than is left returns what is left, then 0 at the end.
    absl::StatusOr<size_t> rest = in->Read(read.data() + 3, read.size() - 3);
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_EQ(*rest, 10000u - 3u) << name;
    read.resize(10000);
    EXPECT_EQ(read, bytes) << name;
    absl::StatusOr<size_t> end = in->Read(read.data(), 10);
    ASSERT_TRUE(end.ok()) << end.status();
    EXPECT_EQ(*end, 0u) << name;
  }
}

TEST(MaybeGzipReaderTest, MissingFileAndDirectoryAreRefusedByName) {
  ScratchDir dir;
  absl::Status status = MaybeGzipReader::Open(dir.File("nope")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(dir.File("nope")));
  status = MaybeGzipReader::Open(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr(dir.path()), HasSubstr("not a regular file")));
}

}  // namespace
}  // namespace flow::data

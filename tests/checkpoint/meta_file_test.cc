#include "checkpoint/meta_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace flow::checkpoint {
namespace {

using ::testing::HasSubstr;

TEST(MetaFileTest, WritesOneFlowBytesExactly) {
  EXPECT_EQ(FormatMetaFile(Shape({10, 512}), kFloat),
            "shape {\n  dim: 10\n  dim: 512\n}\ndata_type: kFloat\n");
  EXPECT_EQ(FormatMetaFile(Shape({1}), kInt64), "shape {\n  dim: 1\n}\ndata_type: kInt64\n");
  EXPECT_EQ(FormatMetaFile(Shape(), kFloat), "shape {\n}\ndata_type: kFloat\n");
  EXPECT_EQ(FormatMetaFile(Shape({0, 3}), kFloat16),
            "shape {\n  dim: 0\n  dim: 3\n}\ndata_type: kFloat16\n");
}

TEST(MetaFileTest, ParsesWhatItWritesForEveryDtype) {
  for (DataType dtype : {kFloat, kDouble, kInt8, kInt32, kInt64, kUInt8, kChar, kFloat16}) {
    for (const Shape& shape : {Shape(), Shape({0}), Shape({2, 3, 4})}) {
      auto meta = ParseMetaFile(FormatMetaFile(shape, dtype));
      ASSERT_TRUE(meta.ok()) << meta.status();
      EXPECT_EQ(meta->shape, shape);
      EXPECT_EQ(meta->dtype, dtype);
      EXPECT_EQ(meta->num_bytes, shape.NumElements() * ItemSize(dtype));
    }
  }
}

TEST(MetaFileTest, AcceptsWhatOneFlowsParserAccepts) {
  // Enum by number, one-line layout, comments; a missing shape block reads as rank 0.
  auto numeric = ParseMetaFile("shape { dim: 3 dim: 4 } data_type: 6  # int64\n");
  ASSERT_TRUE(numeric.ok()) << numeric.status();
  EXPECT_EQ(numeric->shape, Shape({3, 4}));
  EXPECT_EQ(numeric->dtype, kInt64);
  auto scalar = ParseMetaFile("data_type: kDouble\n");
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_EQ(scalar->shape, Shape());
  EXPECT_EQ(scalar->num_bytes, 8);
}

void ExpectRefused(const std::string& text, const std::string& why) {
  const auto meta = ParseMetaFile(text);
  ASSERT_FALSE(meta.ok()) << "accepted: " << text;
  EXPECT_THAT(std::string(meta.status().message()), HasSubstr(why)) << text;
}

TEST(MetaFileTest, RefusesHostileText) {
  ExpectRefused("shape { dim: 3 ", "unparsable meta");
  ExpectRefused("garbage", "unparsable meta");
  ExpectRefused("shape { dim: 3 } data_type: kFloat extra: 1", "unparsable meta");
  ExpectRefused("shape { dim: 3 }", "no data_type");
  ExpectRefused("shape { dim: 3 } data_type: 99", "unparsable meta");
  ExpectRefused("shape { dim: 3 } data_type: kOFRecord", "kOFRecord");
  ExpectRefused("shape { dim: 3 } data_type: kTensorBuffer", "kTensorBuffer");
  ExpectRefused("shape { dim: 3 } data_type: kInvalidDataType", "kInvalidDataType");
  ExpectRefused("shape { dim: 3 dim: -1 } data_type: kFloat", "negative dim -1");
  ExpectRefused("shape { dim: 4294967296 dim: 4294967296 } data_type: kFloat", "overflows");
  // Elements fit in int64, bytes do not.
  ExpectRefused("shape { dim: 4611686018427387904 } data_type: kFloat", "overflows");
  std::string deep = "shape {";
  for (int i = 0; i < 33; ++i) deep += " dim: 1";
  ExpectRefused(deep + " } data_type: kFloat", "rank 33");
  ExpectRefused(std::string(kMaxMetaFileBytes + 1, ' ') + "data_type: kFloat", "bytes; at most");
}

TEST(MetaFileTest, AcceptsRankAtTheCap) {
  std::string text = "shape {";
  for (int i = 0; i < kMaxMetaRank; ++i) text += " dim: 1";
  EXPECT_TRUE(ParseMetaFile(text + " } data_type: kFloat").ok());
}

}  // namespace
}  // namespace flow::checkpoint

#include "runtime/tensor.h"

#include <gtest/gtest.h>

namespace flow {
namespace {

TEST(DataTypeTest, ItemSizesAndNamesFollowOneFlow) {
  EXPECT_EQ(ItemSize(kFloat), 4);
  EXPECT_EQ(ItemSize(kDouble), 8);
  EXPECT_EQ(ItemSize(kFloat16), 2);
  EXPECT_EQ(ItemSize(kInt64), 8);
  EXPECT_EQ(ItemSize(kUInt8), 1);
  EXPECT_EQ(static_cast<int>(kInt64), 6);
  EXPECT_EQ(DataTypeName(kFloat), "kFloat");
  EXPECT_EQ(DataTypeFromName("kInt32"), kInt32);
  EXPECT_EQ(DataTypeFromName("6"), kInt64);
  EXPECT_EQ(DataTypeFromName("kOFRecord"), std::nullopt);
  EXPECT_EQ(DataTypeFromEnumValue(10), std::nullopt);
}

TEST(DataTypeTest, ShortNamesForShapeLabels) {
  EXPECT_EQ(DataTypeShortName(DataType::kFloat), "f32");
  EXPECT_EQ(DataTypeShortName(DataType::kInt64), "i64");
  EXPECT_EQ(DataTypeShortName(DataType::kUInt8), "u8");
  EXPECT_EQ(DataTypeShortName(DataType::kChar), "kChar");  // none: OneFlow's name
}

TEST(ShapeTest, PrintsLikeNumPy) {
  EXPECT_EQ(Shape({10, 512}).ToString(), "(10, 512)");
  EXPECT_EQ(Shape({3}).ToString(), "(3,)");
  EXPECT_EQ(Shape().ToString(), "()");
  EXPECT_EQ(Shape().NumElements(), 1);
}

TEST(ShapeTest, CheckedNumElementsRejectsOverflowAndNegatives) {
  EXPECT_EQ(Shape({1 << 20, 1 << 20}).CheckedNumElements(), int64_t{1} << 40);
  EXPECT_EQ(Shape({int64_t{1} << 40, int64_t{1} << 40}).CheckedNumElements(), std::nullopt);
  EXPECT_EQ(Shape({3, -1}).CheckedNumElements(), std::nullopt);
}

TEST(TensorTest, AllocatesZeroedAlignedAndClonesDeeply) {
  Tensor t(Shape({2, 3}), kFloat);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.f);
  t.data<float>()[4] = 2.5f;
  Tensor copy = t.Clone();
  t.data<float>()[4] = 0.f;
  EXPECT_EQ(copy.data<float>()[4], 2.5f);
  EXPECT_DOUBLE_EQ(copy.mean(), 2.5 / 6);
  EXPECT_FALSE(copy.BitwiseEqual(t));
}

}  // namespace
}  // namespace flow

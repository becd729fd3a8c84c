// The shared windowed-size helper (ops/window.h): output sizes and the SAME_LOWER pad split.
#include "ops/window.h"

#include <gtest/gtest.h>

#include <ostream>

namespace flow {

// Readable failures: "{out 4, pads 1/0}".
void PrintTo(const WindowDim& w, std::ostream* os) {
  *os << "{out " << w.out << ", pads " << w.pad_before << "/" << w.pad_after << "}";
}

namespace {

WindowDim Window(int64_t in, int64_t k, int64_t s, int64_t d, absl::string_view padding) {
  absl::StatusOr<WindowDim> w = ComputeWindow(in, k, s, d, padding);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.value_or(WindowDim{-1, -1, -1});
}

TEST(WindowTest, SameStride1KeepsLeNetSizesWithSymmetricPads) {
  EXPECT_EQ(Window(28, 5, 1, 1, "SAME"), (WindowDim{28, 2, 2}));  // LeNet conv1
  EXPECT_EQ(Window(14, 5, 1, 1, "SAME"), (WindowDim{14, 2, 2}));  // LeNet conv2
  EXPECT_EQ(Window(7, 3, 1, 1, "SAME"), (WindowDim{7, 1, 1}));
  EXPECT_EQ(Window(6, 1, 1, 1, "SAME"), (WindowDim{6, 0, 0}));
}

TEST(WindowTest, SameLowerPutsTheLargerHalfBefore) {
  EXPECT_EQ(Window(6, 4, 1, 1, "SAME"), (WindowDim{6, 2, 1}));  // even kernel, stride 1
  EXPECT_EQ(Window(8, 3, 2, 1, "SAME"), (WindowDim{4, 1, 0}));  // total 1
  EXPECT_EQ(Window(9, 4, 2, 1, "SAME"), (WindowDim{5, 2, 1}));  // odd input, total 3
  EXPECT_EQ(Window(7, 3, 2, 1, "SAME"), (WindowDim{4, 1, 1}));  // odd input, total 2
  EXPECT_EQ(Window(12, 5, 2, 1, "SAME"), (WindowDim{6, 2, 1}));
  EXPECT_EQ(Window(11, 5, 2, 1, "SAME"), (WindowDim{6, 2, 2}));
  EXPECT_EQ(Window(28, 2, 2, 1, "SAME"), (WindowDim{14, 0, 0}));  // LeNet pool
  EXPECT_EQ(Window(27, 2, 2, 1, "SAME"), (WindowDim{14, 1, 0}));
  EXPECT_EQ(Window(8, 3, 2, 1, "SAME_LOWER"), (WindowDim{4, 1, 0}));
}

TEST(WindowTest, SameUpperPutsTheLargerHalfAfter) {
  EXPECT_EQ(Window(8, 3, 2, 1, "SAME_UPPER"), (WindowDim{4, 0, 1}));
  EXPECT_EQ(Window(9, 4, 2, 1, "SAME_UPPER"), (WindowDim{5, 1, 2}));
}

TEST(WindowTest, SameCountsTheDilatedKernel) {
  EXPECT_EQ(Window(9, 3, 2, 2, "SAME"), (WindowDim{5, 2, 2}));  // effective kernel 5
  EXPECT_EQ(Window(8, 3, 2, 2, "SAME"), (WindowDim{4, 2, 1}));
}

TEST(WindowTest, SameAllowsKernelsLargerThanTheInput) {
  EXPECT_EQ(Window(3, 5, 1, 1, "SAME"), (WindowDim{3, 2, 2}));
  EXPECT_EQ(Window(2, 5, 2, 1, "SAME"), (WindowDim{1, 2, 1}));
}

TEST(WindowTest, ValidHasNoPaddingAndFloorsTheOutput) {
  EXPECT_EQ(Window(28, 5, 1, 1, "VALID"), (WindowDim{24, 0, 0}));
  EXPECT_EQ(Window(7, 3, 2, 1, "VALID"), (WindowDim{3, 0, 0}));
  EXPECT_EQ(Window(8, 3, 2, 1, "VALID"), (WindowDim{3, 0, 0}));
  EXPECT_EQ(Window(28, 2, 2, 1, "VALID"), (WindowDim{14, 0, 0}));
  EXPECT_EQ(Window(9, 3, 1, 2, "VALID"), (WindowDim{5, 0, 0}));
  EXPECT_EQ(Window(5, 5, 3, 1, "VALID"), (WindowDim{1, 0, 0}));
}

TEST(WindowTest, ModeNamesAreCaseInsensitive) {
  EXPECT_EQ(Window(8, 3, 2, 1, "same"), (WindowDim{4, 1, 0}));
  EXPECT_EQ(Window(8, 3, 2, 1, "Valid"), (WindowDim{3, 0, 0}));
  EXPECT_TRUE(IsWindowPaddingMode("same_upper"));
  EXPECT_FALSE(IsWindowPaddingMode("EXPLICIT"));
}

TEST(WindowTest, ExplicitOutputSizeAgreesWithComputeWindow) {
  for (const char* mode : {"SAME", "SAME_UPPER", "VALID"}) {
    for (int64_t in = 1; in <= 12; ++in) {
      for (int64_t k = 1; k <= 5; ++k) {
        for (int64_t s = 1; s <= 3; ++s) {
          for (int64_t d = 1; d <= 2; ++d) {
            absl::StatusOr<WindowDim> w = ComputeWindow(in, k, s, d, mode);
            if (!w.ok()) continue;  // VALID with a kernel larger than the input
            absl::StatusOr<int64_t> out =
                WindowOutputSize(in, k, s, d, w->pad_before, w->pad_after);
            ASSERT_TRUE(out.ok()) << out.status();
            EXPECT_EQ(*out, w->out) << mode << " in " << in << " k " << k << " s " << s;
          }
        }
      }
    }
  }
}

TEST(WindowTest, ErrorsDescribeTheDimension) {
  absl::StatusOr<WindowDim> w = ComputeWindow(3, 5, 1, 1, "VALID");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.status().message(),
            "kernel 5 (dilation 1) is larger than input 3 with VALID padding");

  w = ComputeWindow(8, 3, 1, 3, "VALID");  // effective kernel 7 fits, 3 with dilation 4 doesn't
  EXPECT_TRUE(w.ok());
  EXPECT_FALSE(ComputeWindow(8, 3, 1, 4, "VALID").ok());

  w = ComputeWindow(8, 3, 0, 1, "SAME");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), "stride 0 must be positive");
  EXPECT_FALSE(ComputeWindow(8, 3, -2, 1, "VALID").ok());
  EXPECT_FALSE(ComputeWindow(8, 0, 1, 1, "SAME").ok());
  EXPECT_FALSE(ComputeWindow(8, 3, 1, 0, "SAME").ok());

  w = ComputeWindow(8, 3, 1, 1, "FULL");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("unknown padding 'FULL'"), std::string::npos) << w.status();

  absl::StatusOr<int64_t> out = WindowOutputSize(8, 3, 1, 1, -1, 0);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("must not be negative"), std::string::npos);
  out = WindowOutputSize(2, 5, 1, 1, 1, 1);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "kernel 5 (dilation 1) is larger than input 2 padded by 1/1");
}

}  // namespace
}  // namespace flow

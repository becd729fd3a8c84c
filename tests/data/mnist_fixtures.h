// Test helpers for the data/ suites: a scratch directory and tiny MNIST-shaped IDX files whose
// pixels encode the example index, so order and values can be checked exactly.
//
//   ScratchDir dir;                                  // removed at scope exit
//   WriteTinyMnist(dir.path(), 6, 4, /*gzip=*/true);  // train 6 examples, test 4, *.gz
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "data/gzip_file.h"
#include "data/idx.h"
#include "tests/testing/scratch_dir.h"

namespace flow::data::testing {

using ::flow::testing::ScratchDir;

// Pixel p of example k of a split; `salt` separates train from test.
inline uint8_t TinyPixel(int64_t k, int64_t p, int salt) {
  return static_cast<uint8_t>((k * 37 + p * 3 + salt * 101) % 256);
}
inline uint8_t TinyLabel(int64_t k, int salt) { return static_cast<uint8_t>((k * 7 + salt) % 10); }

// (n, 28, 28) uint8 images and (n,) labels of a tiny split.
inline Tensor TinyImages(int64_t n, int salt) {
  Tensor t(Shape({n, 28, 28}), kUInt8);
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t p = 0; p < 784; ++p) t.data<uint8_t>()[k * 784 + p] = TinyPixel(k, p, salt);
  }
  return t;
}
inline Tensor TinyLabels(int64_t n, int salt) {
  Tensor t(Shape({n}), kUInt8);
  for (int64_t k = 0; k < n; ++k) t.data<uint8_t>()[k] = TinyLabel(k, salt);
  return t;
}

inline constexpr int kTrainSalt = 0;
inline constexpr int kTestSalt = 1;

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  ASSERT_TRUE(WriteMaybeGzipFile(path, bytes).ok()) << path;
}

// The four MNIST files of a tiny dataset in `dir`, plain or with ".gz".
inline void WriteTinyMnist(const std::string& dir, int64_t n_train, int64_t n_test, bool gzip) {
  const std::string suffix = gzip ? ".gz" : "";
  WriteBytes(dir + "/train-images-idx3-ubyte" + suffix, EncodeIdx(TinyImages(n_train, kTrainSalt)));
  WriteBytes(dir + "/train-labels-idx1-ubyte" + suffix, EncodeIdx(TinyLabels(n_train, kTrainSalt)));
  WriteBytes(dir + "/t10k-images-idx3-ubyte" + suffix, EncodeIdx(TinyImages(n_test, kTestSalt)));
  WriteBytes(dir + "/t10k-labels-idx1-ubyte" + suffix, EncodeIdx(TinyLabels(n_test, kTestSalt)));
}

// A big-endian uint32, for hand-built headers.
inline std::string BigEndian32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

}  // namespace flow::data::testing

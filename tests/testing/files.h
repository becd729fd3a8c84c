// Whole-file reads for assertions on what a test made a program write.
//
//   EXPECT_EQ(testing::ReadFile(dir + "/snap/snapshot_done"), "");
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace flow::testing {

// The bytes of `path`; a file that cannot be opened is a test failure (and reads as "").
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace flow::testing

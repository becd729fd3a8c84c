// Helpers for the checkpoint tests: a scratch directory per test and plain file writes, so
// fixtures are built byte for byte without going through the code under test.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tests/testing/files.h"
#include "tests/testing/scratch_dir.h"

namespace flow::checkpoint::testing {

using ::flow::testing::ScratchDir;

inline void WriteFile(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out) << path;
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out) << path;
}

using ::flow::testing::ReadFile;

inline void MakeDir(const std::string& path) { std::filesystem::create_directories(path); }

// Names in `dir` (not recursive), sorted.
inline std::vector<std::string> ListNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace flow::checkpoint::testing

#include "tests/testing/scratch_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace flow::testing {

ScratchDir::ScratchDir() {
  std::string label = "flowrt";
  if (const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info()) {
    absl::StrAppend(&label, "_", test->test_suite_name(), "_", test->name());
    std::replace(label.begin(), label.end(), '/', '_');  // parameterized names have slashes
  }
  std::string pattern = (std::filesystem::temp_directory_path() / (label + "_XXXXXX")).string();
  // A test cannot run without its directory: fail loudly rather than write somewhere else.
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    std::abort();
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ScratchDir::File(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

}  // namespace flow::testing

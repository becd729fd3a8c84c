// README.md's "Serving a snapshot from C++" program is examples/mlp_predict.cc byte for byte, so
// the snippet compiles (examples/ is built, and install_test.sh compiles it against the installed
// headers) and examples_test-style runs cover it.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/files.h"

namespace flow {
namespace {

const std::string kSource = FLOWRT_SOURCE_DIR;

// The first ```cpp block under the heading `section`.
std::string ReadmeCppBlock(const std::string& section) {
  std::istringstream readme(testing::ReadFile(kSource + "/README.md"));
  std::string program;
  bool in_section = false, in_cpp = false;
  for (std::string line; std::getline(readme, line);) {
    if (!in_section) {
      in_section = line == section;
    } else if (!in_cpp) {
      in_cpp = line == "```cpp";
    } else if (absl::StartsWith(line, "```")) {
      break;
    } else {
      absl::StrAppend(&program, line, "\n");
    }
  }
  return program;
}

TEST(ReadmeTest, PredictorProgramIsExamplesMlpPredict) {
  const std::string program = ReadmeCppBlock("## Serving a snapshot from C++");
  ASSERT_TRUE(absl::StrContains(program, "flow::Predictor::Load")) << "no predictor in README.md";
  EXPECT_EQ(program, testing::ReadFile(kSource + "/examples/mlp_predict.cc"))
      << "README.md's \"Serving a snapshot from C++\" and examples/mlp_predict.cc differ";
}

}  // namespace
}  // namespace flow

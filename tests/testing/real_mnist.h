// A fixture for tests that train on the real MNIST of data/mnist (fetched by tools/setup.sh):
// skipped when it is absent, each test in a scratch directory of its own, removed afterwards.
// Name such suites RealMnist* so the sanitizer stage of tools/test.sh leaves them out.
//
//   class RealMnistResumeTest : public testing::RealMnistTest {};
//   TEST_F(RealMnistResumeTest, X) { RunFlowrt("train --data=" + RealMnistDir() + " --save=" +
//   Path("s")); }
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace flow::testing {

inline std::string RealMnistDir() { return std::string(FLOWRT_SOURCE_DIR) + "/data/mnist"; }

class RealMnistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(RealMnistDir() + "/train-images-idx3-ubyte")) {
      GTEST_SKIP() << "real MNIST not in " << RealMnistDir() << " (run bash tools/setup.sh)";
    }
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("flowrt_" + std::string(test->test_suite_name()) + "_" + std::to_string(::getpid()) +
            "_" + test->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;  // empty when skipped
};

}  // namespace flow::testing

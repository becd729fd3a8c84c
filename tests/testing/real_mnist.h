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
#include <memory>
#include <string>

#include "tests/testing/scratch_dir.h"

namespace flow::testing {

inline std::string RealMnistDir() { return std::string(FLOWRT_SOURCE_DIR) + "/data/mnist"; }

class RealMnistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(RealMnistDir() + "/train-images-idx3-ubyte")) {
      GTEST_SKIP() << "real MNIST not in " << RealMnistDir() << " (run bash tools/setup.sh)";
    }
    scratch_ = std::make_unique<ScratchDir>();
    dir_ = scratch_->path();
  }
  std::string Path(const std::string& name) const { return scratch_->File(name); }

  std::unique_ptr<ScratchDir> scratch_;  // null when skipped
  std::string dir_;
};

}  // namespace flow::testing

// The programs of examples/ (OneFlow's doc scripts in C++), run as a user runs them: in a working
// directory holding data/mnist (linked to the repo's), where they write their snapshots. Suites
// named RealMnist* train on real MNIST, so they skip without it and the sanitizer stage leaves
// them out; the error cases need no data and run everywhere.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/command.h"
#include "tests/testing/real_mnist.h"
#include "tests/testing/scratch_dir.h"

namespace flow {
namespace {

using testing::CommandResult;

// `examples/<name> <args>` run in `dir`, stdout and stderr together.
CommandResult RunExample(const std::string& dir, const std::string& name,
                         const std::string& args = "") {
  return testing::Shell(
      absl::StrCat("cd ", dir, " && ", FLOWRT_EXAMPLES_DIR, "/", name, " ", args, " 2>&1"));
}

// The int64 step counter a train job saved in `snapshot`.
int64_t TrainStep(const std::string& snapshot) {
  std::ifstream file(snapshot + "/System-Train-TrainStep-train_job/out", std::ios::binary);
  int64_t step = -1;
  file.read(reinterpret_cast<char*>(&step), sizeof(step));
  return step;
}

class RealMnistExamplesTest : public testing::RealMnistTest {
 protected:
  void SetUp() override {
    testing::RealMnistTest::SetUp();
    if (IsSkipped()) return;
    std::filesystem::create_directories(Path("data"));
    std::filesystem::create_directory_symlink(testing::RealMnistDir(), Path("data/mnist"));
  }
};

TEST_F(RealMnistExamplesTest, MlpOriginThenFinetuneLoadsAllButDense3) {
  const CommandResult origin = RunExample(dir_, "mlp_mnist_origin");
  ASSERT_EQ(origin.exit_code, 0) << origin.output;
  EXPECT_TRUE(absl::StrContains(origin.output, "\nstep 580  loss ")) << origin.output;
  EXPECT_TRUE(std::filesystem::exists(Path("mlp_models_1/snapshot_done")));
  EXPECT_EQ(TrainStep(Path("mlp_models_1")), 600);

  // The README's predictor program: batch 1 and the first row of batch 7 agree, digit and p.
  const CommandResult predict = RunExample(dir_, "mlp_predict");
  ASSERT_EQ(predict.exit_code, 0) << predict.output;
  const size_t one = predict.output.find("batch 1, image 0: ");
  const size_t seven = predict.output.find("batch 7, image 0: ");
  ASSERT_NE(one, std::string::npos) << predict.output;
  ASSERT_NE(seven, std::string::npos) << predict.output;
  const std::string row1 =
      predict.output.substr(one + 18, predict.output.find('\n', one) - one - 18);
  const std::string row7 =
      predict.output.substr(seven + 18, predict.output.find('\n', seven) - seven - 18);
  EXPECT_EQ(row1, row7) << predict.output;
  EXPECT_TRUE(absl::StrContains(predict.output, "batch 7, image 6: ")) << predict.output;

  const CommandResult finetune = RunExample(dir_, "mlp_mnist_finetune");
  ASSERT_EQ(finetune.exit_code, 0) << finetune.output;
  EXPECT_TRUE(absl::StrContains(finetune.output,
                                "loaded from ./mlp_models_1: System-Train-TrainStep-train_job, "
                                "dense1-bias, dense1-weight, dense2-bias, dense2-weight\n"))
      << finetune.output;
  EXPECT_TRUE(absl::StrContains(
      finetune.output, "initialized (not in ./mlp_models_1): dense3-bias, dense3-weight\n"))
      << finetune.output;
  EXPECT_TRUE(absl::StrContains(finetune.output, "\nstep 580  loss ")) << finetune.output;
  // The loaded counter went on: 600 steps of mlp_mnist_origin, 600 more here.
  EXPECT_EQ(TrainStep(Path("mlp_ext_models_1")), 1200);
  EXPECT_TRUE(std::filesystem::exists(Path("mlp_ext_models_1/dense3-weight/out")));
  EXPECT_TRUE(std::filesystem::exists(Path("mlp_ext_models_1/snapshot_done")));
}

// One epoch instead of the script's 20: OneFlow's docs report 99.4% after 20.
TEST_F(RealMnistExamplesTest, LenetTrainOneEpochThenEvalReachesNinetySevenPercent) {
  const CommandResult train = RunExample(dir_, "lenet_train", "1");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_TRUE(absl::StrContains(train.output, "\nepoch 0  step 580  loss ")) << train.output;
  EXPECT_FALSE(absl::StrContains(train.output, "epoch 1 ")) << train.output;
  EXPECT_EQ(TrainStep(Path("lenet_models_1")), 600);

  const CommandResult eval = RunExample(dir_, "lenet_eval");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  ASSERT_TRUE(absl::StartsWith(eval.output, "accuracy: ") && absl::EndsWith(eval.output, "%\n"))
      << eval.output;
  double percent = 0;
  ASSERT_TRUE(absl::SimpleAtod(eval.output.substr(10, eval.output.size() - 12), &percent))
      << eval.output;
  EXPECT_GE(percent, 97.0) << eval.output;
  std::cout << "lenet_eval after 1 epoch: " << eval.output;

  // A second lenet_train refuses at once to train for a snapshot it could not save.
  const CommandResult again = RunExample(dir_, "lenet_train", "1");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.output, "./lenet_models_1 exists: remove it first\n");
}

// Fashion-MNIST (Debian's dataset-fashion-mnist) with batch normalization: a short run (300
// steps, not the 5 epochs of tools/bench/RESULTS.md) that must learn, save, and evaluate the same
// after loading its snapshot into a fresh session.
TEST(FashionExamplesTest, FashionBnCnnLearnsSavesAndLoads) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")) {
    GTEST_SKIP() << "no Fashion-MNIST (apt-get install dataset-fashion-mnist)";
  }
  const std::string dir = std::filesystem::temp_directory_path() /
                          absl::StrCat("flowrt_FashionExamplesTest_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // One thread: on a loaded machine two OpenMP threads per process mostly wait for each other.
  const CommandResult run = testing::Shell(absl::StrCat(
      "cd ", dir, " && OMP_NUM_THREADS=1 ", FLOWRT_EXAMPLES_DIR, "/fashion_bn_cnn 1 300 2>&1"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "epoch 0  step 200  loss ")) << run.output;
  const std::string key = "loaded into a new session: test accuracy ";
  const size_t at = run.output.find(key);
  ASSERT_NE(at, std::string::npos) << run.output;
  double accuracy = 0;
  ASSERT_TRUE(absl::SimpleAtod(run.output.substr(at + key.size(), 6), &accuracy)) << run.output;
  // Chance is 0.10. Not higher: with OneFlow's momentum 0.99 the moving statistics the predict job
  // normalizes with still hold 0.99^300 = 5% of their initial 0 and 1 (after 150 steps, 22%,
  // the accuracy was 0.65 though the training loss had fallen to 0.32).
  EXPECT_GE(accuracy, 0.75) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "(same as trained)")) << run.output;
  for (const char* var : {"conv1_bn-gamma", "conv1_bn-beta", "conv1_bn-moving_mean",
                          "conv1_bn-moving_variance", "fc1_bn-moving_variance"}) {
    EXPECT_TRUE(std::filesystem::exists(absl::StrCat(dir, "/fashion_bn_cnn_models/", var, "/out")))
        << var;
  }
  EXPECT_EQ(TrainStep(dir + "/fashion_bn_cnn_models"), 300);
  std::cout << "fashion_bn_cnn, 300 steps: " << run.output.substr(at);
  std::filesystem::remove_all(dir);
}

// A scratch directory of its own for the tests that need no data.
class ExamplesTest : public ::testing::Test {
 protected:
  testing::ScratchDir scratch_;
  const std::string dir_ = scratch_.path();
};

TEST_F(ExamplesTest, TrainersWithoutDataSayToRunSetup) {
  for (const char* name : {"mlp_mnist_origin", "lenet_train"}) {
    const CommandResult r = RunExample(dir_, name);
    EXPECT_EQ(r.exit_code, 1) << name << "\n" << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, "bash tools/setup.sh")) << name << "\n" << r.output;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir_)) << "no snapshot without training";
}

TEST_F(ExamplesTest, LoadersWithoutSnapshotNameIt) {
  for (const auto& [name, snapshot] :
       {std::pair{"mlp_mnist_finetune", "mlp_models_1"}, std::pair{"lenet_eval", "lenet_models_1"},
        std::pair{"mlp_predict", "mlp_models_1"}}) {
    const CommandResult r = RunExample(dir_, name);
    EXPECT_EQ(r.exit_code, 1) << name << "\n" << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, snapshot)) << name << "\n" << r.output;
  }
}

TEST_F(ExamplesTest, LenetTrainRefusesABadEpochCount) {
  for (const char* args : {"0", "x", "1 2"}) {
    const CommandResult r = RunExample(dir_, "lenet_train", args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_TRUE(absl::StartsWith(r.output, "usage: lenet_train [EPOCHS]")) << r.output;
  }
}

}  // namespace
}  // namespace flow

// End to end, as a user runs flowrt: the CLI on real MNIST (data/mnist, fetched by
// tools/setup.sh). Test names contain "RealMnist" so the sanitizer stage can leave them out.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "jobs/trainer.h"
#include "tests/testing/command.h"
#include "tests/testing/real_mnist.h"

namespace flow {
namespace {

const std::string kMnist = testing::RealMnistDir();
using testing::CommandResult;
using testing::RunFlowrt;

using RealMnistTest = testing::RealMnistTest;

// The seed's mlp_mnist_origin setup (truncated_normal(0.1), SGD lr 0.1, no momentum, batch 100,
// file order) for three epochs: the issue's >= 95% smoke bar. One epoch is not enough for that
// bar on this setup in any framework (PyTorch 1.13 mirrored reaches 0.9334 after one epoch,
// flowrt 0.9307); flowrt measured 0.9307 / 0.9476 / 0.9568 after epochs 1 / 2 / 3 (~1 s each).
TEST_F(RealMnistTest, MlpThreeEpochsReachNinetyFivePercent) {
  std::ostringstream log;
  absl::StatusOr<jobs::TrainResult> result =
      jobs::Train({.model = "mlp", .data_dir = kMnist, .epochs = 3, .log = &log});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->train_step, 1800);
  EXPECT_GE(result->test_accuracy, 0.95) << log.str();
}

TEST_F(RealMnistTest, LenetResumeFromSnapshotIsBitIdentical) {
  const std::string common =
      absl::StrCat("train --job=lenet --data=", kMnist,
                   " --momentum=0.9 --dropout=0.5 --shuffle --seed=3 --threads=2 --log_every=0");
  CommandResult straight = RunFlowrt(common + " --steps=12 --save=" + Path("straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  CommandResult first = RunFlowrt(common + " --steps=5 --save=" + Path("k5"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  CommandResult resumed =
      RunFlowrt(common + " --steps=7 --load=" + Path("k5") + " --save=" + Path("resumed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  CommandResult diff = RunFlowrt("ckpt diff " + Path("straight") + " " + Path("resumed"));
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
  EXPECT_TRUE(absl::StrContains(diff.output, "identical")) << diff.output;
  // And the comparison can fail: a run that did not resume differs.
  CommandResult other = RunFlowrt(common + " --steps=12 --seed=4 --save=" + Path("other"));
  ASSERT_EQ(other.exit_code, 0) << other.output;
  EXPECT_EQ(RunFlowrt("ckpt diff " + Path("straight") + " " + Path("other")).exit_code, 1);
}

// --adapt_threads switches between 2 threads and 1 by step time; the two sum in different orders,
// so the run may differ in its last bits from a fixed 2-thread one, but it learns the same model.
TEST_F(RealMnistTest, AdaptThreadsTrainsTheSameModel) {
  const std::string common =
      "train --job=mlp --steps=300 --threads=2 --log_every=0 --data=" + kMnist;
  CommandResult fixed = RunFlowrt(common + " --save=" + Path("fixed"));
  ASSERT_EQ(fixed.exit_code, 0) << fixed.output;
  CommandResult adaptive = RunFlowrt(common + " --adapt_threads --save=" + Path("adaptive"));
  ASSERT_EQ(adaptive.exit_code, 0) << adaptive.output;
  auto accuracy = [&](const std::string& snapshot) {
    CommandResult eval = RunFlowrt("eval --job=mlp --load=" + Path(snapshot) + " --data=" + kMnist);
    EXPECT_EQ(eval.exit_code, 0) << eval.output;
    const size_t at = eval.output.rfind("accuracy: ");
    return at == std::string::npos ? -1.0 : std::stod(eval.output.substr(at + 10));
  };
  const double fixed_accuracy = accuracy("fixed"), adaptive_accuracy = accuracy("adaptive");
  EXPECT_GT(fixed_accuracy, 0.85);
  EXPECT_NEAR(adaptive_accuracy, fixed_accuracy, 0.005);
}

TEST_F(RealMnistTest, FineTuneFlowContinuesTheStepCounterAndEvalAcceptsIt) {
  const std::string data = " --data=" + kMnist + " --log_every=0";
  CommandResult origin = RunFlowrt("train --job=mlp --steps=60 --save=" + Path("mlp") + data);
  ASSERT_EQ(origin.exit_code, 0) << origin.output;
  CommandResult finetune = RunFlowrt("train --job=mlp_finetune --steps=40 --load=" + Path("mlp") +
                                     " --save=" + Path("ext") + data);
  ASSERT_EQ(finetune.exit_code, 0) << finetune.output;
  EXPECT_TRUE(absl::StrContains(finetune.output,
                                "initialized (not in snapshot): dense3-bias, dense3-weight"))
      << finetune.output;
  std::ifstream step(Path("ext/System-Train-TrainStep-train_job/out"), std::ios::binary);
  int64_t value = 0;
  step.read(reinterpret_cast<char*>(&value), sizeof(value));
  EXPECT_EQ(value, 100);
  CommandResult eval = RunFlowrt("eval --job=mlp_finetune --load=" + Path("ext") + data);
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_TRUE(absl::StrContains(eval.output, "accuracy: 0.")) << eval.output;
  // eval refuses a snapshot that lacks the model's variables, naming them.
  CommandResult refused = RunFlowrt("eval --job=mlp_finetune --load=" + Path("mlp") + data);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(refused.output, "lacks dense3-bias, dense3-weight"))
      << refused.output;
  CommandResult inspect = RunFlowrt("ckpt inspect " + Path("ext"));
  EXPECT_TRUE(absl::StrContains(inspect.output, "dense3-weight")) << inspect.output;
  EXPECT_TRUE(absl::StrContains(inspect.output, "(10, 10)")) << inspect.output;
  CommandResult verify = RunFlowrt("ckpt verify " + Path("ext"));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(RealMnistTest, SnapshotRootKeepsTheNewestAndResumeContinuesFromTheLatest) {
  const std::string common =
      " --job=mlp --log_every=0 --data=" + kMnist + " --snapshot_root=" + Path("run");
  CommandResult first = RunFlowrt("train --steps=30 --snapshot_every=10 --keep=2" + common);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(Path("run"))) {
    names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"snapshot_0000000020", "snapshot_0000000030"}));
  // With --resume, --steps is the whole run's length: 5 more than the 30 done.
  CommandResult resumed = RunFlowrt("train --steps=35 --keep=2 --resume" + common);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(absl::StrContains(resumed.output,
                                "loaded 5 variables from " + Path("run") + "/snapshot_0000000030"))
      << resumed.output;
  EXPECT_TRUE(std::filesystem::exists(Path("run/snapshot_0000000035/snapshot_done")));
  EXPECT_FALSE(std::filesystem::exists(Path("run/snapshot_0000000020")));
  CommandResult no_root = RunFlowrt("train --steps=1 --resume --job=mlp --data=" + kMnist);
  EXPECT_NE(no_root.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(no_root.output, "need --snapshot_root")) << no_root.output;
}

TEST_F(RealMnistTest, ClearErrorsForMissingDataBadFlagsAndForeignSnapshots) {
  CommandResult no_data = RunFlowrt("train --job=mlp --data=" + Path("nowhere"));
  EXPECT_NE(no_data.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(no_data.output, "tools/setup.sh")) << no_data.output;
  CommandResult bad_job = RunFlowrt("train --job=resnet --data=" + kMnist);
  EXPECT_NE(bad_job.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(bad_job.output, "lenet, mlp, mlp_finetune")) << bad_job.output;
  CommandResult both = RunFlowrt("train --epochs=1 --steps=2 --data=" + kMnist);
  EXPECT_NE(both.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(both.output, "not both")) << both.output;
  CommandResult mlp = RunFlowrt("train --job=mlp --steps=1 --log_every=0 --save=" + Path("mlp") +
                                " --data=" + kMnist);
  ASSERT_EQ(mlp.exit_code, 0) << mlp.output;
  CommandResult foreign =
      RunFlowrt("train --job=lenet --steps=1 --load=" + Path("mlp") + " --data=" + kMnist);
  EXPECT_NE(foreign.exit_code, 0);
  for (const char* expected :
       {"does not fit", "(was it saved by another job?)",
        "dense1-weight (snapshot (512, 784) kFloat, here (512, 3136) kFloat)",
        "not in the snapshot: conv1-bias, conv1-weight, conv2-bias"}) {
    EXPECT_TRUE(absl::StrContains(foreign.output, expected)) << expected << "\n" << foreign.output;
  }
  CommandResult occupied = RunFlowrt(
      "train --job=mlp --steps=1 --log_every=0 --save=" + Path("mlp") + " --data=" + kMnist);
  EXPECT_NE(occupied.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(occupied.output, Path("mlp"))) << occupied.output;
}

}  // namespace
}  // namespace flow

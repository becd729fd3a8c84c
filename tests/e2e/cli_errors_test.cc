// The errors people meet first with the flowrt CLI, as they read them. None needs MNIST (the
// snapshot-of-another-job case, which trains first, is RealMnistTest.ClearErrors... in
// cli_test.cc; the library's message is CheckpointApiTest.SnapshotOfAnotherJob...).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "tests/testing/command.h"
#include "tests/testing/scratch_dir.h"

namespace flow {
namespace {

using testing::CommandResult;
using testing::RunFlowrt;

class CliErrorsTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return scratch_.File(name); }
  testing::ScratchDir scratch_;
  const std::string dir_ = scratch_.path();
};

TEST_F(CliErrorsTest, NoDataYetSaysWhichDirectoryAndTheCommandThatFetchesIt) {
  CommandResult r = RunFlowrt("train --job=mlp --data=" + Path("mnist"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, Path("mnist"))) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "run `bash tools/setup.sh`")) << r.output;
  CommandResult eval = RunFlowrt("eval --job=mlp --load=x --data=" + Path("mnist"));
  EXPECT_TRUE(absl::StrContains(eval.output, "bash tools/setup.sh")) << eval.output;
}

TEST_F(CliErrorsTest, UnknownFlagIsNamedWithTheClosestFlagAndTheFlagList) {
  CommandResult r = RunFlowrt("train --job=mlp --epoch=1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "unknown flag --epoch (did you mean --epochs?)"))
      << r.output;
  for (const char* flag : {"--epochs", "--steps", "--save", "--log_every", "--npz", "--png"}) {
    EXPECT_TRUE(absl::StrContains(r.output, flag)) << flag << " not listed:\n" << r.output;
  }
  EXPECT_TRUE(absl::StrContains(r.output, "flowrt <command> [flags]")) << r.output;
  // Far from every flag: no suggestion, still the list.
  CommandResult far = RunFlowrt("ckpt inspect x --frobnicate");
  EXPECT_EQ(far.exit_code, 2) << far.output;
  EXPECT_TRUE(absl::StrContains(far.output, "unknown flag --frobnicate\n")) << far.output;
  // Negated booleans and absl's own flags are known.
  EXPECT_FALSE(absl::StrContains(RunFlowrt("ckpt inspect x --nojson").output, "unknown flag"));
  EXPECT_EQ(RunFlowrt("--helpfull").output.find("unknown flag"), std::string::npos);
}

TEST_F(CliErrorsTest, NonEmptySaveDirectoryIsRefusedBeforeAnyTraining) {
  std::filesystem::create_directories(Path("run1"));
  std::ofstream(Path("run1/notes.txt")) << "mine\n";
  // --data points nowhere: the save target must be refused first, before data or training.
  CommandResult r = RunFlowrt("train --job=mlp --save=" + Path("run1") + " --data=" + Path("x"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(
      absl::StrContains(r.output, Path("run1") + " already exists and is not an empty directory"))
      << r.output;
  EXPECT_FALSE(absl::StrContains(r.output, "MNIST")) << r.output;
  std::ofstream(Path("file")) << "x";
  EXPECT_TRUE(absl::StrContains(
      RunFlowrt("train --job=mlp --save=" + Path("file") + " --data=" + Path("x")).output,
      "already exists"));
  // An empty directory is fine (the data error comes next).
  std::filesystem::create_directories(Path("empty"));
  CommandResult empty =
      RunFlowrt("train --job=mlp --save=" + Path("empty") + " --data=" + Path("x"));
  EXPECT_TRUE(absl::StrContains(empty.output, "bash tools/setup.sh")) << empty.output;
}

TEST_F(CliErrorsTest, NegativeClipNormIsRefusedNamingTheValue) {
  // Refused before the data is read: --data points nowhere.
  for (const char* value : {"-1", "-0.5", "nan"}) {
    CommandResult r =
        RunFlowrt(std::string("train --job=mlp --clip_norm=") + value + " --data=" + Path("x"));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(absl::StrContains(r.output,
                                  std::string("--clip_norm must be >= 0 (0 = off), got ") + value))
        << r.output;
  }
}

TEST_F(CliErrorsTest, ResumeAndLoadTogetherAreRefusedNamingBoth) {
  // Refused before data or snapshots are touched: --data and --load point nowhere.
  CommandResult r = RunFlowrt("train --job=mlp --resume --snapshot_root=" + Path("run") +
                              " --load=" + Path("mlp") + " --data=" + Path("x"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "give --resume or --load=" + Path("mlp") + ", not both"))
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(Path("run")));
}

}  // namespace
}  // namespace flow

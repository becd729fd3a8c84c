// Every path a user gives the CLI for something to write gets its missing parent directories, as
// `mkdir -p` would: --save, --snapshot_root, --metrics, ckpt export --npz, ckpt import, graph
// --dot/--png and plot -o. A parent that cannot be made is an error naming it and the reason, and
// a run that saves nothing leaves no metrics.csv in the current directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/command.h"
#include "tests/testing/files.h"
#include "tests/testing/real_mnist.h"
#include "tests/testing/scratch_dir.h"

namespace flow {
namespace {

using ::testing::HasSubstr;

bool Exists(const std::string& path) { return std::filesystem::exists(path); }
bool HaveTool(const std::string& probe) { return testing::Shell(probe).exit_code == 0; }

// `flowrt <args>` run from `dir`, stderr included in the output.
testing::CommandResult FlowrtIn(const std::string& dir, const std::string& args) {
  return testing::Shell(
      absl::StrCat("cd ", dir, " && ", testing::FlowrtBinary(), " ", args, " 2>&1"));
}

class RealMnistOutputPathsTest : public testing::RealMnistTest {
 protected:
  std::string Train(const std::string& args) {
    return absl::StrCat("train --job=mlp --data=", testing::RealMnistDir(), " --steps=3 --quiet ",
                        args);
  }
};

TEST_F(RealMnistOutputPathsTest, EveryPathToWriteGetsItsMissingParents) {
  testing::CommandResult r = FlowrtIn(dir_, Train("--save=a/b/snap --metrics=m/n/run.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Exists(Path("a/b/snap/snapshot_done")));
  EXPECT_TRUE(Exists(Path("m/n/run.csv")));

  r = FlowrtIn(dir_, Train("--snapshot_root=r/s/root --snapshot_every=3"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Exists(Path("r/s/root/snapshot_0000000003/snapshot_done")));
  EXPECT_TRUE(Exists(Path("r/s/root.metrics.csv")));

  r = FlowrtIn(dir_, "ckpt export a/b/snap --npz=x/y/mlp.npz");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Exists(Path("x/y/mlp.npz")));

  r = FlowrtIn(dir_, "ckpt import x/y/mlp.npz i/j/imported");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Exists(Path("i/j/imported/snapshot_done")));

  r = FlowrtIn(dir_, "graph --job=mlp --dot=g/h/mlp.dot");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Exists(Path("g/h/mlp.dot")));
  if (HaveTool("dot -V >/dev/null 2>&1")) {
    r = FlowrtIn(dir_, "graph --job=mlp --png=g/k/mlp.png");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(Exists(Path("g/k/mlp.png")));
  }
  if (HaveTool("gnuplot --version >/dev/null 2>&1")) {
    r = FlowrtIn(dir_, "plot m/n/run.csv -o p/q/curves.png --script=p/r/curves.gp");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(Exists(Path("p/q/curves.png")));
    EXPECT_TRUE(Exists(Path("p/r/curves.gp")));
  }
}

TEST_F(RealMnistOutputPathsTest, ARunThatSavesNothingLeavesNoMetricsFileBehind) {
  const testing::CommandResult r = FlowrtIn(dir_, Train(""));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("accuracy"));
  EXPECT_TRUE(std::filesystem::is_empty(dir_)) << "left behind in the current directory";
}

TEST_F(RealMnistOutputPathsTest, AMetricsParentThatCannotBeMadeIsNamedBeforeTraining) {
  std::ofstream(Path("plain")) << "x";
  const testing::CommandResult r = FlowrtIn(dir_, Train("--metrics=plain/sub/run.csv"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cannot write plain/sub/run.csv: plain is a regular file, not a "
                                  "directory"));
  EXPECT_EQ(testing::ReadFile(Path("plain")), "x");
}

// No data needed: the graph view and plot refuse the same way.
TEST(OutputPathsTest, GraphAndPlotNameAParentThatCannotBeMade) {
  testing::ScratchDir scratch;
  const std::string dir = scratch.path();
  std::ofstream(dir + "/plain") << "x";
  std::ofstream(dir + "/run.csv") << "step,epoch,loss,lr,images_per_second,test_accuracy\n"
                                  << "1,1,0.5,0.1,100,\n";

  testing::CommandResult r = FlowrtIn(dir, "graph --job=mlp --dot=plain/g.dot");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("flowrt graph: cannot write plain/g.dot: plain is a regular "
                                  "file, not a directory"));
  r = FlowrtIn(dir, "plot run.csv -o plain/deeper/curves.png");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("flowrt plot: cannot write plain/deeper/curves.png: plain is a "
                                  "regular file, not a directory"));
  EXPECT_EQ(testing::ReadFile(dir + "/plain"), "x");
}

}  // namespace
}  // namespace flow

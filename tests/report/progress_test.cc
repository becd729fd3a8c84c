// Progress output (live line on a terminal, plain lines otherwise, quiet), metrics.csv and
// `flowrt plot`. The CLI cases run on real MNIST and are named RealMnist* so the sanitizer stage
// skips them; the live line is checked under a pseudo-terminal made by script(1).
#include "report/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "report/metrics.h"
#include "tests/testing/command.h"
#include "tests/testing/files.h"
#include "tests/testing/real_mnist.h"
#include "tests/testing/scratch_dir.h"

namespace flow::jobs {
namespace {

const std::string kMnist = testing::RealMnistDir();
const std::string kFlowrt = testing::FlowrtBinary();
using testing::CommandResult;
using testing::ReadFile;
using testing::Shell;

// `flowrt args` with stdout on a pseudo-terminal (script -q -e -c ... /dev/null).
CommandResult UnderTerminal(const std::string& args) {
  return Shell(absl::StrCat("script -q -e -c '", kFlowrt, " ", args, "' /dev/null 2>&1"));
}

// Drives a Progress through `steps` steps after `first_step` (a resumed run), with epochs of
// `steps_per_epoch`, as the trainer does.
std::string Drive(ProgressStyle style, int log_every, int64_t steps, int64_t steps_per_epoch,
                  int64_t first_step = 0) {
  std::ostringstream out;
  Progress progress({.style = style,
                     .out = &out,
                     .log_every = log_every,
                     .batch_size = 10,
                     .steps_per_epoch = steps_per_epoch,
                     .lr = 0.1});
  progress.Begin(first_step, steps);
  for (int64_t step = first_step + 1; step <= first_step + steps; ++step) {
    const bool last = step == first_step + steps, epoch_end = step % steps_per_epoch == 0;
    if (progress.Due(step, last) || epoch_end || last) {
      progress.Report(step, 1.0 / step);
    }
    if (epoch_end || last) progress.EpochEnd((step - 1) / steps_per_epoch + 1, 0.5);
  }
  return out.str();
}

TEST(ProgressTest, PlainLinesEveryLogEveryStepsAndAtTheEnd) {
  const std::string out = Drive(ProgressStyle::kPlain, 4, 10, 5);
  EXPECT_TRUE(absl::StrContains(out, "step 4  epoch 1  loss 0.250000  ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "step 8  epoch 2  loss 0.125000  ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "step 10  epoch 2  loss 0.100000  ")) << out;
  EXPECT_FALSE(absl::StrContains(out, "step 5 ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "epoch 1/2  train loss")) << out;
  EXPECT_FALSE(absl::StrContains(out, "\r")) << out;
  EXPECT_FALSE(absl::StrContains(out, "ETA")) << out;
}

// A run resumed at step 6 logs the global multiples of log_every (8, then the last step 10),
// the lines an uninterrupted run would print, not 6 + 4 alone.
TEST(ProgressTest, ResumedRunLogsTheStepsAnUninterruptedRunLogs) {
  const std::string out = Drive(ProgressStyle::kPlain, 4, 4, 5, /*first_step=*/6);
  EXPECT_TRUE(absl::StrContains(out, "step 8  epoch 2  loss 0.125000  ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "step 10  epoch 2  loss 0.100000  ")) << out;
  EXPECT_FALSE(absl::StrContains(out, "step 7 ")) << out;
}

TEST(ProgressTest, LiveLineRedrawsInPlaceWithBarEtaAndEpochSummaries) {
  const std::string out = Drive(ProgressStyle::kLive, 4, 10, 5);
  EXPECT_TRUE(absl::StrContains(out, "\repoch 1/2 [")) << out;
  EXPECT_TRUE(absl::StrContains(out, "] 5/5  loss ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "lr 0.1")) << out;
  EXPECT_TRUE(absl::StrContains(out, "img/s  ETA 0:00")) << out;
  EXPECT_TRUE(absl::StrContains(out, "epoch 1/2  train loss")) << out;
  EXPECT_TRUE(absl::StrContains(out, "test accuracy 0.5000")) << out;
  EXPECT_FALSE(absl::StrContains(out, "step 4  epoch")) << out;
  // Two epochs: exactly two summary lines, each ending the live line it replaces.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
}

TEST(ProgressTest, QuietPrintsNothing) { EXPECT_EQ(Drive(ProgressStyle::kQuiet, 4, 10, 5), ""); }

TEST(ProgressTest, FormatDuration) {
  EXPECT_EQ(FormatDuration(0), "0:00");
  EXPECT_EQ(FormatDuration(65.2), "1:05");
  EXPECT_EQ(FormatDuration(3 * 3600 + 61), "3:01:01");
  EXPECT_EQ(FormatDuration(-1), "?");
}

TEST(MetricsTest, HeaderRowsEmptyAccuracyAndAppend) {
  testing::ScratchDir scratch;
  const std::string path = scratch.File("m.csv");
  {
    absl::StatusOr<MetricsWriter> writer = MetricsWriter::Open(path, /*append=*/true);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE(
        writer->Row({.step = 20, .epoch = 1, .loss = 0.5, .lr = 0.1, .images_per_second = 390})
            .ok());
    ASSERT_TRUE(writer
                    ->Row({.step = 600,
                           .epoch = 1,
                           .loss = 0.25,
                           .lr = 0.1,
                           .images_per_second = 400,
                           .test_accuracy = 0.9312})
                    .ok());
  }
  EXPECT_EQ(ReadFile(path),
            "step,epoch,loss,lr,images_per_second,test_accuracy\n"
            "20,1,0.500000,0.1,390.0,\n"
            "600,1,0.250000,0.1,400.0,0.9312\n");
  {
    absl::StatusOr<MetricsWriter> writer = MetricsWriter::Open(path, /*append=*/true);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer->Row({.step = 620, .epoch = 2, .loss = 0.2, .lr = 0.1}).ok());
  }
  EXPECT_TRUE(absl::EndsWith(ReadFile(path), "0.9312\n620,2,0.200000,0.1,0.0,\n"));
  EXPECT_FALSE(MetricsWriter::Open(path + "/no/such/dir.csv", false).ok());  // path is a file
  EXPECT_EQ(DefaultMetricsPath("runs/lenet-1/", ""), "runs/lenet-1.metrics.csv");
  EXPECT_EQ(DefaultMetricsPath("", "runs/r"), "runs/r.metrics.csv");
  EXPECT_EQ(DefaultMetricsPath("", ""), "");  // a run that saves nothing writes no metrics
}

TEST(PlotTest, TwoRunsOnOneChartMakeAPng) {
  if (Shell("command -v gnuplot >/dev/null 2>&1").exit_code != 0) {
    GTEST_SKIP() << "gnuplot not installed (apt-get install gnuplot-nox)";
  }
  testing::ScratchDir scratch;
  const std::string dir = scratch.path();
  for (const char* name : {"a", "b"}) {
    std::ofstream csv(dir + "/" + name + ".csv");
    csv << kMetricsHeader << "\n";
    for (int step = 20; step <= 1200; step += 20) {
      csv << step << "," << (step - 1) / 600 + 1 << "," << (name[0] == 'a' ? 2.0 : 3.0) / step
          << ",0.1,5000.0,";
      if (step % 600 == 0) csv << (name[0] == 'a' ? 0.95 : 0.9) + step / 100000.0;
      csv << "\n";
    }
  }
  const std::string png = dir + "/curves.png";
  CommandResult plot = Shell(absl::StrCat(kFlowrt, " plot ", dir, "/a.csv ", dir, "/b.csv -o ", png,
                                          " --script=", dir, "/c.gp 2>&1"));
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  const std::string bytes = ReadFile(png);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  const std::string script = ReadFile(dir + "/c.gp");
  EXPECT_TRUE(absl::StrContains(script, "title 'a'")) << script;
  EXPECT_TRUE(absl::StrContains(script, "title 'b'")) << script;
  EXPECT_TRUE(absl::StrContains(script, "test accuracy")) << script;
  // Not a metrics file: a clear error.
  std::ofstream(dir + "/bad.csv") << "x,y\n1,2\n";
  CommandResult bad = Shell(absl::StrCat(kFlowrt, " plot ", dir, "/bad.csv -o ", png, " 2>&1"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(bad.output, "not a flowrt metrics file")) << bad.output;
}

TEST(PlotTest, ASingleRowIsDrawnAsAPoint) {
  if (Shell("command -v gnuplot >/dev/null 2>&1").exit_code != 0) {
    GTEST_SKIP() << "gnuplot not installed (apt-get install gnuplot-nox)";
  }
  testing::ScratchDir scratch;
  const std::string dir = scratch.path();
  std::ofstream(dir + "/one.csv") << kMetricsHeader << "\n20,1,0.52,0.1,5000.0,\n";
  std::ofstream csv(dir + "/many.csv");
  csv << kMetricsHeader << "\n";
  for (int step = 20; step <= 200; step += 20)
    csv << step << ",1," << 2.0 / step << ",0.1,5000.0,\n";
  csv.close();
  const std::string png = dir + "/one.png";
  CommandResult plot = Shell(absl::StrCat(kFlowrt, " plot ", dir, "/one.csv ", dir, "/many.csv -o ",
                                          png, " --script=", dir, "/p.gp 2>&1"));
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_EQ(ReadFile(png).substr(1, 3), "PNG");
  const std::string script = ReadFile(dir + "/p.gp");
  EXPECT_TRUE(absl::StrContains(script, "$loss0 using 1:2 with points pt 7")) << script;
  EXPECT_TRUE(absl::StrContains(script, "$loss1 using 1:2 with lines")) << script;
  // Alone, its single loss value gets a range around it (gnuplot would warn of an empty one and
  // leave the axis without labels).
  CommandResult alone = Shell(
      absl::StrCat(kFlowrt, " plot ", dir, "/one.csv -o ", png, " --script=", dir, "/p.gp 2>&1"));
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  EXPECT_FALSE(absl::StrContains(alone.output, "Warning")) << alone.output;
  EXPECT_TRUE(absl::StrContains(ReadFile(dir + "/p.gp"), "set yrange [0.26:1.04]"));
}

using RealMnistProgressTest = testing::RealMnistTest;

TEST_F(RealMnistProgressTest, LiveLineUnderAPseudoTerminal) {
  if (Shell("command -v script >/dev/null 2>&1").exit_code != 0) GTEST_SKIP() << "no script(1)";
  CommandResult run = UnderTerminal(absl::StrCat(
      "train --job=mlp --steps=700 --threads=2 --data=", kMnist, " --metrics=", dir_, "/m.csv"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "\repoch 1/2 [")) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "\repoch 2/2 [")) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "ETA ")) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "600/600")) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "epoch 1/2  train loss")) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "test accuracy 0.")) << run.output;
  EXPECT_TRUE(absl::StrContains(run.output, "accuracy: 0.")) << run.output;
  EXPECT_FALSE(absl::StrContains(run.output, "step 20  epoch 1")) << run.output;
}

TEST_F(RealMnistProgressTest, PlainLinesWhenNotATerminalAndQuiet) {
  const std::string common = absl::StrCat("train --job=mlp --steps=40 --threads=2 --data=", kMnist,
                                          " --metrics=none --save=", dir_, "/");
  CommandResult plain = Shell(absl::StrCat(kFlowrt, " ", common, "plain 2>&1"));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_TRUE(absl::StrContains(plain.output, "step 20  epoch 1  loss ")) << plain.output;
  EXPECT_TRUE(absl::StrContains(plain.output, "step 40  epoch 1  loss ")) << plain.output;
  EXPECT_FALSE(absl::StrContains(plain.output, "\r")) << plain.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/plain.metrics.csv"));  // --metrics=none
  CommandResult quiet = UnderTerminal(common + "quiet --quiet");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
  const std::vector<std::string> lines =
      absl::StrSplit(quiet.output, absl::ByAnyChar("\r\n"), absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u) << quiet.output;
  EXPECT_TRUE(absl::StartsWith(lines[0], "accuracy: 0.")) << quiet.output;
}

TEST_F(RealMnistProgressTest, MetricsCsvBesideTheSnapshotWithEpochAccuracy) {
  CommandResult run =
      Shell(absl::StrCat(kFlowrt, " train --job=mlp --steps=620 --log_every=100",
                         " --threads=2 --data=", kMnist, " --save=", dir_, "/mlp 2>&1"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string csv = ReadFile(dir_ + "/mlp.metrics.csv");
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 8u) << csv;  // header, 100..600, 620
  EXPECT_EQ(lines[0], "step,epoch,loss,lr,images_per_second,test_accuracy");
  EXPECT_TRUE(absl::StartsWith(lines[1], "100,1,")) << csv;
  EXPECT_TRUE(absl::EndsWith(lines[1], ",")) << csv;  // not evaluated
  EXPECT_TRUE(absl::StartsWith(lines[6], "600,1,")) << csv;
  EXPECT_TRUE(absl::StrContains(lines[6], ",0.1,")) << csv;
  EXPECT_FALSE(absl::EndsWith(lines[6], ",")) << csv;  // epoch end: evaluated
  EXPECT_TRUE(absl::StartsWith(lines[7], "620,2,")) << csv;
  EXPECT_FALSE(absl::EndsWith(lines[7], ",")) << csv;  // end of run: evaluated
  // And it plots.
  if (Shell("command -v gnuplot >/dev/null 2>&1").exit_code == 0) {
    CommandResult plot = Shell(
        absl::StrCat(kFlowrt, " plot ", dir_, "/mlp.metrics.csv -o ", dir_, "/curves.png 2>&1"));
    EXPECT_EQ(plot.exit_code, 0) << plot.output;
    EXPECT_GT(std::filesystem::file_size(dir_ + "/curves.png"), 1000u);
  }
}

}  // namespace
}  // namespace flow::jobs

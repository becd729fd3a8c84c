// `flowrt time` (like `caffe time`): a header saying what was timed, then the per-layer and
// per-op tables of report/op_profile. No data needed: it times random input.
#include <gtest/gtest.h>
#include <sched.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/command.h"

namespace flow {
namespace {

using testing::CommandResult;
using testing::FlowrtBinary;
using testing::RunFlowrt;
using testing::Shell;

TEST(TimeCommandTest, PrintsWhatWasTimedAndEveryLayerOfTheStep) {
  CommandResult r = RunFlowrt("time --job=mlp --iterations=2 --threads=1 --batch_size=10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StartsWith(r.output,
                               "mlp training step (sgd, lr 0.1, dropout 0.5), batch 10, 1 thread, "
                               "mean of 2 iterations\n"))
      << r.output;
  for (const char* row : {"dense1 ", "dense2 ", "sparse_softmax_cross_entropy ", "optimizer "}) {
    EXPECT_TRUE(absl::StrContains(r.output, absl::StrCat("\n", row))) << row << "\n" << r.output;
  }
}

// The training flags reach the timed job through the reader `flowrt train` uses
// (tools/cli/training_flags.h): the optimizer's update op is timed, the header names the lr, and
// the dropout rate gets to LeNet's dropout op, which refuses 1.5.
TEST(TimeCommandTest, HonoursTheTrainingFlagsOfFlowrtTrain) {
  CommandResult adam = RunFlowrt(
      "time --job=lenet --iterations=1 --threads=1 --batch_size=4 --optimizer=adam --lr=0.05 "
      "--dropout=0.25");
  ASSERT_EQ(adam.exit_code, 0) << adam.output;
  EXPECT_TRUE(
      absl::StartsWith(adam.output, "lenet training step (adam, lr 0.05, dropout 0.25), batch 4, "))
      << adam.output;
  EXPECT_TRUE(absl::StrContains(adam.output, " adam_update ")) << adam.output;
  EXPECT_FALSE(absl::StrContains(adam.output, " sgd_update ")) << adam.output;

  CommandResult adam_default = RunFlowrt("time --job=mlp --iterations=1 --optimizer=adam");
  EXPECT_TRUE(absl::StartsWith(adam_default.output, "mlp training step (adam, lr 0.001, "))
      << adam_default.output;

  CommandResult dropout = RunFlowrt("time --job=lenet --iterations=1 --batch_size=4 --dropout=1.5");
  EXPECT_NE(dropout.exit_code, 0) << dropout.output;
  EXPECT_TRUE(absl::StrContains(dropout.output, "1.5 must be in [0, 1)")) << dropout.output;

  CommandResult unknown = RunFlowrt("time --job=mlp --iterations=1 --optimizer=rmsprop");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_TRUE(absl::StrContains(unknown.output, "unknown optimizer 'rmsprop'; choose sgd or adam"))
      << unknown.output;
  CommandResult momentum =
      RunFlowrt("time --job=mlp --iterations=1 --optimizer=adam --momentum=0.9");
  EXPECT_NE(momentum.exit_code, 0) << momentum.output;
  EXPECT_TRUE(absl::StrContains(momentum.output, "momentum 0.9 is SGD's")) << momentum.output;
}

// --threads=0 (the default) is OpenMP's default, as for libtorch: OMP_NUM_THREADS when set.
TEST(TimeCommandTest, DefaultThreadsFollowOmpNumThreadsAndTheFlagOverridesIt) {
  auto time = [](const std::string& env, const std::string& flags) {
    return Shell(
        absl::StrCat(env, " ", FlowrtBinary(), " time --job=mlp --iterations=1 ", flags, " 2>&1"));
  };
  CommandResult one = time("OMP_NUM_THREADS=1", "");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_TRUE(absl::StrContains(one.output, ", 1 thread,")) << one.output;
  CommandResult three = time("OMP_NUM_THREADS=3", "");
  EXPECT_TRUE(absl::StrContains(three.output, ", 3 threads,")) << three.output;
  CommandResult flag = time("OMP_NUM_THREADS=1", "--threads=2");
  EXPECT_TRUE(absl::StrContains(flag.output, ", 2 threads,")) << flag.output;
}

// Every figure names the ISA it ran at: under ONEDNN_MAX_CPU_ISA=AVX2 (which every x86-64 CPU
// flowrt runs on reaches) the header says avx2, and the peak is the AVX2 probe's.
TEST(TimeCommandTest, SaysTheIsaOneDnnDispatchedToAndHonoursTheCap) {
  CommandResult capped = Shell(absl::StrCat("ONEDNN_MAX_CPU_ISA=AVX2 ", FlowrtBinary(),
                                            " time --job=mlp --iterations=1 --threads=1 2>&1"));
  ASSERT_EQ(capped.exit_code, 0) << capped.output;
  EXPECT_TRUE(absl::StrContains(capped.output, "\noneDNN ISA avx2, FMA peak at that ISA "))
      << capped.output;
  EXPECT_TRUE(absl::StrContains(capped.output, " GFLOP/s per core (probe)\n")) << capped.output;
}

// flowrt's programs spin briefly at OpenMP barriers unless the user chose a policy
// (runtime/openmp_wait_policy.h): the program re-executes itself with GOMP_SPINCOUNT=1000.
TEST(TimeCommandTest, ChoosesABoundedOpenMpSpinUnlessTheUserChoseOne) {
  auto time = [](const std::string& env) {
    return Shell(absl::StrCat("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT ", env, " ", FlowrtBinary(),
                              " time --job=mlp --iterations=1 --threads=1 2>&1"));
  };
  CommandResult flowrt = time("");
  ASSERT_EQ(flowrt.exit_code, 0) << flowrt.output;
  EXPECT_TRUE(absl::StrContains(flowrt.output,
                                "\nOpenMP wait policy GOMP_SPINCOUNT=1000 (flowrt's default)\n"))
      << flowrt.output;
  CommandResult active = time("OMP_WAIT_POLICY=active");
  EXPECT_TRUE(
      absl::StrContains(active.output, "\nOpenMP wait policy OMP_WAIT_POLICY=active (user)\n"))
      << active.output;
  CommandResult spin = time("GOMP_SPINCOUNT=300");
  EXPECT_TRUE(absl::StrContains(spin.output, "\nOpenMP wait policy GOMP_SPINCOUNT=300 (user)\n"))
      << spin.output;
}

// A binding the user asks for survives that re-execution: libgomp binds the first thread to the
// first place before main, and the re-executed program used to inherit that one-CPU mask, so
// every thread ran on CPU 0. Its places must cover the CPUs this test may use.
TEST(TimeCommandTest, KeepsTheUsersThreadBindingAcrossTheReExecution) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  const int cpus = CPU_COUNT(&mine);
  CommandResult bound = Shell(
      absl::StrCat("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OMP_PLACES ", "OMP_PROC_BIND=true ",
                   FlowrtBinary(), " time --job=mlp --iterations=1 --threads=2 2>&1"));
  ASSERT_EQ(bound.exit_code, 0) << bound.output;
  EXPECT_TRUE(absl::StrContains(bound.output, "\nOpenMP wait policy GOMP_SPINCOUNT=1000"))
      << bound.output;
  EXPECT_TRUE(
      absl::StrContains(bound.output, absl::StrCat("\nOpenMP thread binding OMP_PROC_BIND 1, ",
                                                   cpus, " places over ", cpus, " CPUs\n")))
      << "this process may use " << cpus << " CPUs\n"
      << bound.output;
  CommandResult free =
      Shell(absl::StrCat("env -u OMP_PROC_BIND -u OMP_PLACES -u GOMP_CPU_AFFINITY ", FlowrtBinary(),
                         " time --job=mlp --iterations=1 --threads=1 2>&1"));
  EXPECT_TRUE(absl::StrContains(free.output,
                                "\nOpenMP thread binding none (the kernel places the threads)\n"))
      << free.output;
}

TEST(TimeCommandTest, UnknownJobOrArgumentIsRefused) {
  CommandResult job = RunFlowrt("time --job=resnet --iterations=1");
  EXPECT_NE(job.exit_code, 0) << job.output;
  EXPECT_TRUE(absl::StrContains(job.output, "resnet")) << job.output;
  CommandResult arg = RunFlowrt("time extra --iterations=1");
  EXPECT_NE(arg.exit_code, 0) << arg.output;
  EXPECT_TRUE(absl::StrContains(arg.output, "unexpected argument 'extra'")) << arg.output;
}

}  // namespace
}  // namespace flow

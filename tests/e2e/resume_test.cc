// Resuming after a crash, as a user does it: the same `flowrt train ... --snapshot_root=R
// --resume` command, run again after the first one died, finishes that run — bit for bit the
// variables and train step of a run that never stopped. On the first 1000 training and 100 test
// examples of real MNIST (data/mnist, fetched by tools/setup.sh), so that runs crossing epochs
// stay cheap; test names contain "RealMnist" so the sanitizer stage can leave them out.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/command.h"
#include "tests/testing/real_mnist.h"

namespace flow {
namespace {

const std::string kMnist = testing::RealMnistDir();
using testing::CommandResult;
using testing::RunFlowrt;

class RealMnistResumeTest : public testing::RealMnistTest {
 protected:
  void SetUp() override {
    testing::RealMnistTest::SetUp();
    if (IsSkipped()) return;
    std::filesystem::create_directories(dir_ + "/mnist");
    CopyIdxPrefix("train-images-idx3-ubyte", 16, 784, 1000);
    CopyIdxPrefix("train-labels-idx1-ubyte", 8, 1, 1000);
    CopyIdxPrefix("t10k-images-idx3-ubyte", 16, 784, 100);
    CopyIdxPrefix("t10k-labels-idx1-ubyte", 8, 1, 100);
  }
  // The first `count` records of an IDX file of data/mnist, into <dir>/mnist, with the count in
  // the header (big-endian, bytes 4..7) set to match.
  void CopyIdxPrefix(const std::string& name, int header, int record, uint32_t count) {
    std::ifstream in(kMnist + "/" + name, std::ios::binary);
    std::string bytes(header + static_cast<size_t>(record) * count, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_EQ(in.gcount(), static_cast<std::streamsize>(bytes.size())) << name;
    for (int i = 0; i < 4; ++i) bytes[4 + i] = static_cast<char>(count >> (24 - 8 * i));
    std::ofstream(dir_ + "/mnist/" + name, std::ios::binary) << bytes;
  }
};

int64_t TrainStepOf(const std::string& snapshot) {
  std::ifstream out(snapshot + "/System-Train-TrainStep-train_job/out", std::ios::binary);
  int64_t step = -1;
  out.read(reinterpret_cast<char*>(&step), sizeof(step));
  return step;
}

struct Killed {
  bool by_sigkill = false;
  std::string output;  // what the child printed up to the kill, stdout and stderr
};

// Runs `flowrt <args>` with its output in a one-page pipe, reads until `line` has been printed,
// then SIGKILLs it. The child prints a line (>= 40 bytes) per step (--log_every=1) and blocks
// once the pipe and its stdio buffer are full; this side has read at most a pipe's worth past
// `line`. So after `line` the child gets fewer than 3 * 4096 / 40 ~ 300 steps further: a run
// longer than that cannot finish before the kill, whatever the scheduler does.
Killed KillFlowrtAfter(const std::string& args, const std::string& line) {
  Killed killed;
  int fds[2];
  if (::pipe(fds) != 0) return killed;
  ::fcntl(fds[0], F_SETPIPE_SZ, 4096);
  const std::string command = absl::StrCat("exec ", testing::FlowrtBinary(), " ", args, " 2>&1");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return killed;
  }
  char buffer[4096];
  while (!absl::StrContains(killed.output, line)) {
    const ssize_t n = ::read(fds[0], buffer, sizeof(buffer));
    if (n <= 0) break;  // the child ended before printing `line`: not killed
    killed.output.append(buffer, static_cast<size_t>(n));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  killed.by_sigkill = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  return killed;
}

// The MLP in batches of 10 (100 steps per epoch of the 1000 examples), shuffled: each epoch has
// its own order, so resuming at the wrong batch or epoch would show.
std::string MlpRun(const std::string& mnist, int epochs) {
  return absl::StrCat("train --job=mlp --data=", mnist, " --epochs=", epochs,
                      " --batch_size=10 --shuffle --seed=5 --threads=1 --metrics=none");
}

TEST_F(RealMnistResumeTest, SameCommandAfterSigkillFinishesTheRunBitIdentically) {
  const std::string mnist = Path("mnist");
  CommandResult straight =
      RunFlowrt(MlpRun(mnist, 6) + " --log_every=0 --snapshot_root=" + Path("straight") +
                " --snapshot_every=50");
  ASSERT_EQ(straight.exit_code, 0) << straight.output;

  // 600 steps: far more than the ~300 the child can get past the first snapshot.
  const std::string command = MlpRun(mnist, 6) + " --log_every=1 --snapshot_root=" + Path("run") +
                              " --snapshot_every=50 --keep=2 --resume";
  const Killed first =
      KillFlowrtAfter(command, "snapshot " + Path("run/snapshot_0000000050") + "\n");
  ASSERT_TRUE(first.by_sigkill) << first.output;
  // The first launch of a restartable command: nothing to resume from yet.
  EXPECT_TRUE(absl::StrContains(first.output,
                                "no complete snapshot in " + Path("run") + "; starting fresh"))
      << first.output;

  CommandResult again = RunFlowrt(command);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(absl::StrContains(again.output, "resumed from " + Path("run/snapshot_")))
      << again.output;
  EXPECT_TRUE(absl::StrContains(again.output, "steps to go\n")) << again.output;
  EXPECT_EQ(TrainStepOf(Path("run/snapshot_0000000600")), 600);
  CommandResult diff = RunFlowrt("ckpt diff " + Path("straight/snapshot_0000000600") + " " +
                                 Path("run/snapshot_0000000600"));
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
  EXPECT_TRUE(absl::StrContains(diff.output, "identical")) << diff.output;
}

TEST_F(RealMnistResumeTest, ResumesInsideTheSecondEpochAndASecondReRunHasNothingToDo) {
  const std::string mnist = Path("mnist");
  CommandResult straight =
      RunFlowrt(MlpRun(mnist, 2) + " --log_every=0 --save=" + Path("straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  // A run of the command below that died after step 150 (50 batches into epoch 2), as its
  // snapshot root shows it.
  const std::string root = " --snapshot_root=" + Path("run") + " --snapshot_every=50";
  CommandResult died = RunFlowrt(absl::StrCat(
      "train --job=mlp --data=", mnist,
      " --steps=150 --batch_size=10 --shuffle --seed=5 --threads=1 --metrics=none --log_every=0",
      root));
  ASSERT_EQ(died.exit_code, 0) << died.output;

  const std::string command =
      MlpRun(mnist, 2) + " --log_every=0 --resume --save=" + Path("final") + root;
  CommandResult resumed = RunFlowrt(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(absl::StrContains(resumed.output, "resumed from " + Path("run/snapshot_0000000150") +
                                                    " at step 150; 50 steps to go\n"))
      << resumed.output;
  EXPECT_EQ(TrainStepOf(Path("final")), 200);
  CommandResult diff = RunFlowrt("ckpt diff " + Path("straight") + " " + Path("final"));
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
  EXPECT_TRUE(absl::StrContains(diff.output, "identical")) << diff.output;

  // Done: the same command again trains nothing, writes nothing, and succeeds.
  CommandResult again = RunFlowrt(command);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(absl::StrContains(
      again.output, "resumed from " + Path("run/snapshot_0000000200") +
                        " at step 200; the run's 200 steps are done, nothing to train\n"))
      << again.output;
  EXPECT_TRUE(
      absl::StrContains(again.output, "--save=" + Path("final") + " already holds step 200"))
      << again.output;
  EXPECT_FALSE(absl::StrContains(again.output, "snapshot " + Path("run"))) << again.output;
  EXPECT_TRUE(absl::StrContains(again.output, "accuracy: 0.")) << again.output;
}

}  // namespace
}  // namespace flow

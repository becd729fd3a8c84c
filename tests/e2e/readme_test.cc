// README.md's shell examples, run as written, in order, in a scratch directory (data/ linked to
// the repo's): the fine-tuning pair, the plot of their metrics, the NumPy round trip, the ONNX
// export and its check, the graph view, the restartable run. Lines starting with
// `build/tools/flowrt` or `python3` inside ```sh blocks are the examples; `build/tools/flowrt`
// becomes this build's binary. Not run here: tools/setup.sh and tools/test.sh (they are the setup
// and the suite itself), `cmake --install`, which InstallTest.OutOfTreeBuild runs with the README's
// C++ program, and the build/examples/ programs, which tests/e2e/examples_test.cc runs. Named
// RealMnist: trains on data/mnist, so it skips without it and the sanitizer stage leaves it out.
// The README's C++ program is checked here too: it must be examples/mlp_mnist_origin.cc, byte for
// byte, and so is "Serving a snapshot from C++": examples/mlp_predict.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/command.h"
#include "tests/testing/files.h"
#include "tests/testing/scratch_dir.h"

namespace flow {
namespace {

using testing::ReadFile;

const std::string kSource = FLOWRT_SOURCE_DIR;

// The example command lines of every ```sh block, in README order.
std::vector<std::string> ReadmeCommands() {
  std::ifstream readme(kSource + "/README.md");
  std::vector<std::string> commands;
  bool in_sh = false;
  for (std::string line; std::getline(readme, line);) {
    if (!in_sh) {
      in_sh = line == "```sh";
    } else if (absl::StartsWith(line, "```")) {
      in_sh = false;
    } else if (absl::StartsWith(line, "build/tools/flowrt ") ||
               absl::StartsWith(line, "python3 ")) {
      commands.push_back(line);
    }
  }
  return commands;
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// The first ```cpp block under the heading that starts with `section` (install_test.sh extracts
// "## Writing a job in C++" the same way).
std::string ReadmeCppBlock(const std::string& section) {
  std::istringstream readme(ReadFile(kSource + "/README.md"));
  std::string program;
  bool in_section = false, in_cpp = false;
  for (std::string line; std::getline(readme, line);) {
    if (!in_section) {
      in_section = absl::StartsWith(line, section);
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

// One text in two places: the README shows the program, examples/ builds it.
TEST(ReadmeTest, CppProgramIsExamplesMlpMnistOrigin) {
  const std::string program = ReadmeCppBlock("## Writing a job in C++");
  ASSERT_TRUE(absl::StrContains(program, "int main()")) << "no C++ program in README.md";
  EXPECT_EQ(program, ReadFile(kSource + "/examples/mlp_mnist_origin.cc"))
      << "README.md's \"Writing a job in C++\" and examples/mlp_mnist_origin.cc differ: make "
         "them the same text again";
}

TEST(ReadmeTest, PredictorProgramIsExamplesMlpPredict) {
  const std::string program = ReadmeCppBlock("## Serving a snapshot from C++");
  ASSERT_TRUE(absl::StrContains(program, "flow::Predictor::Load")) << "no predictor in README.md";
  EXPECT_EQ(program, ReadFile(kSource + "/examples/mlp_predict.cc"))
      << "README.md's \"Serving a snapshot from C++\" and examples/mlp_predict.cc differ";
}

std::string FileStart(const std::string& path, size_t n) {
  std::ifstream file(path, std::ios::binary);
  std::string bytes(n, '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(n));
  return bytes.substr(0, static_cast<size_t>(file.gcount()));
}

// The quick start, as a stranger runs it on a fresh clone: the README's first command, minus its
// `bash tools/setup.sh && ` (this build is the set-up) and with 30 steps for its one epoch, in a
// directory that has no snapshots/ yet.
TEST(ReadmeTest, RealMnistQuickStartRunsAsWrittenInAFreshDirectory) {
  if (!Exists(kSource + "/data/mnist/train-images-idx3-ubyte")) {
    GTEST_SKIP() << "real MNIST not in data/mnist (run bash tools/setup.sh)";
  }
  const std::string readme = ReadFile(kSource + "/README.md");
  const std::string prefix = "bash tools/setup.sh && build/tools/flowrt ";
  const size_t start = readme.find(prefix);
  ASSERT_NE(start, std::string::npos) << "README.md's quick start no longer starts with " << prefix;
  std::string line = readme.substr(start, readme.find('\n', start) - start);
  const std::string epoch = " --epochs=1 ";
  ASSERT_TRUE(absl::StrContains(line, epoch)) << line;
  line = absl::StrCat(testing::FlowrtBinary(), " ", line.substr(prefix.size()));
  line.replace(line.find(epoch), epoch.size(), " --steps=30 ");

  testing::ScratchDir scratch;
  const std::string dir = scratch.path();
  std::filesystem::create_directories(dir + "/data");
  std::filesystem::create_directory_symlink(kSource + "/data/mnist", dir + "/data/mnist");
  const testing::CommandResult r = testing::Shell(absl::StrCat("cd ", dir, " && ", line, " 2>&1"));
  EXPECT_EQ(r.exit_code, 0) << line << "\n" << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "accuracy: ")) << r.output;
  int snapshots = 0, metrics = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/snapshots")) {
    const std::string name = entry.path().filename();
    if (entry.is_directory() && Exists(entry.path() / "snapshot_done")) ++snapshots;
    if (absl::EndsWith(name, ".metrics.csv")) ++metrics;
  }
  EXPECT_EQ(snapshots, 1);
  EXPECT_EQ(metrics, 1) << "the run's metrics go beside its snapshot";
  EXPECT_FALSE(Exists(dir + "/metrics.csv"));
}

TEST(ReadmeTest, RealMnistShellExamplesRunAsWritten) {
  if (!Exists(kSource + "/data/mnist/train-images-idx3-ubyte")) {
    GTEST_SKIP() << "real MNIST not in data/mnist (run bash tools/setup.sh)";
  }
  // Debian's python3 (with python3-numpy), as on the machine tools/setup.sh prepares, even when
  // another python3 (pyenv, venv) comes first on PATH.
  const std::string path = "PATH=/usr/bin:$PATH";
  if (testing::Shell(path + " python3 -c 'import numpy' 2>/dev/null").exit_code != 0 ||
      testing::Shell("dot -V 2>/dev/null").exit_code != 0 ||
      testing::Shell("gnuplot --version >/dev/null 2>&1").exit_code != 0) {
    GTEST_SKIP() << "needs numpy, Graphviz and gnuplot (bash tools/setup.sh installs them)";
  }
  const std::vector<std::string> commands = ReadmeCommands();
  ASSERT_GE(commands.size(), 8u) << "README.md lost its examples?";

  testing::ScratchDir scratch;
  const std::string dir = scratch.path();
  std::filesystem::create_directories(dir + "/data");
  std::filesystem::create_directory_symlink(kSource + "/data/mnist", dir + "/data/mnist");
  for (const std::string& command : commands) {
    std::string line = command;
    if (absl::StartsWith(line, "build/tools/flowrt ")) {
      line = testing::FlowrtBinary() + line.substr(std::string("build/tools/flowrt").size());
    }
    const testing::CommandResult r =
        testing::Shell(absl::StrCat("cd ", dir, " && ", path, " ", line, " 2>&1"));
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.output;
  }
  // What the examples say they produce.
  EXPECT_TRUE(Exists(dir + "/mlp_models_1/snapshot_done"));
  EXPECT_TRUE(Exists(dir + "/mlp_ext_models_1/dense3-weight/out"));
  EXPECT_EQ(FileStart(dir + "/curves.png", 4), "\x89PNG");
  EXPECT_EQ(FileStart(dir + "/mlp.npz", 4), std::string("PK\x03\x04", 4));
  EXPECT_TRUE(Exists(dir + "/imported_snapshot/dense1-weight/meta"));
  EXPECT_GT(std::filesystem::file_size(dir + "/mlp.onnx"), 784 * 512 * 4);
  EXPECT_TRUE(absl::StrContains(FileStart(dir + "/lenet_train.dot", 1 << 20), "sgd_update"));
  EXPECT_EQ(FileStart(dir + "/lenet_train.png", 4), "\x89PNG");
  EXPECT_TRUE(Exists(dir + "/runs/mlp/snapshot_0000000060/snapshot_done"));
}

}  // namespace
}  // namespace flow

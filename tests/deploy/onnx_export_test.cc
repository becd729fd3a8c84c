// flow::export_onnx and `flowrt ckpt export --onnx`: the file passes ONNX's own checker (Debian's
// python3-onnx, full check), and onnxruntime (tools/onnxruntime, test-only) computes flowrt's
// probabilities within 1e-5 on 100 MNIST test images, for LeNet, the MLP and a user-written body
// of other ops. Refusals: an op without a mapping, a train job, an unwritable path, a reshape
// across the batch under dynamic_batch.
#include "deploy/onnx_export.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "checkpoint/snapshot_writer.h"
#include "data/digit_image.h"
#include "graph/flow.h"
#include "jobs/models.h"
#include "tests/testing/command.h"
#include "tests/testing/real_mnist.h"

namespace flow {
namespace {

using testing::RunFlowrt;
using testing::Shell;

const std::string kOnnxruntimeDir = std::string(FLOWRT_SOURCE_DIR) + "/tools/onnxruntime";

// Every variable of `session` set to deterministic values in [-0.1, 0.1): biases too (they start
// at zero), so a wrongly mapped bias shows.
std::vector<std::pair<std::string, Tensor>> RandomVariables(const Session& session) {
  std::vector<std::pair<std::string, Tensor>> variables;
  uint32_t state = 2024;
  for (auto& [name, value] : session.get_all_variables()) {
    for (int64_t i = 0; i < value.num_elements(); ++i) {
      state = state * 1664525u + 1013904223u;
      value.data<float>()[i] = static_cast<float>(state >> 8) / 16777216.f * 0.2f - 0.1f;
    }
    variables.emplace_back(name, std::move(value));
  }
  return variables;
}

void WriteFloats(const std::string& path, const Tensor& t) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(t.data<float>()), t.num_elements() * sizeof(float));
}

// onnx.checker.check_model(path, full_check=True); returns "" or the checker's complaint.
std::string OnnxCheckerError(const std::string& model) {
  testing::CommandResult r =
      Shell(absl::StrCat("/usr/bin/python3 -c 'import sys, onnx; m = onnx.load(sys.argv[1]); "
                         "onnx.checker.check_model(m, full_check=True); "
                         "print(\"opset\", m.opset_import[0].version, \"outputs\", [o.name for o "
                         "in m.graph.output])' ",
                         model, " 2>&1"));
  if (r.exit_code == 0 && absl::StrContains(r.output, "opset 13")) return "";
  return absl::StrCat("exit ", r.exit_code, ": ", r.output);
}

// onnxruntime's first output for `input` (float32), through tools/onnxruntime/ort_run.js. Installs
// onnxruntime-node on first use (tools/test.sh already did in CI); skips only if npm cannot.
absl::StatusOr<Tensor> RunOnnxruntime(const std::string& model, const Tensor& input,
                                      const Shape& output_shape, const std::string& scratch) {
  testing::CommandResult install =
      Shell(absl::StrCat("bash ", kOnnxruntimeDir, "/install.sh 2>&1"));
  if (install.exit_code != 0) return absl::UnavailableError(install.output);
  WriteFloats(scratch + ".in", input);
  testing::CommandResult r =
      Shell(absl::StrCat("node ", kOnnxruntimeDir, "/ort_run.js ", model, " ", scratch, ".in ",
                         absl::StrJoin(input.shape().dims(), ","), " ", scratch, ".out 2>&1"));
  if (r.exit_code != 0) return absl::InternalError(r.output);
  Tensor out(output_shape, kFloat);
  std::ifstream file(scratch + ".out", std::ios::binary);
  file.read(reinterpret_cast<char*>(out.data<float>()), out.num_elements() * sizeof(float));
  if (file.gcount() != static_cast<std::streamsize>(out.num_elements() * sizeof(float))) {
    return absl::InternalError(absl::StrCat("onnxruntime wrote another shape: ", r.output));
  }
  return out;
}

float MaxAbsDiff(const Tensor& a, const Tensor& b) {
  float worst = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    worst = std::max(worst, std::abs(a.data<float>()[i] - b.data<float>()[i]));
  }
  return worst;
}

// The first 100 MNIST test images, (100, 1, 28, 28) in [0, 1].
Tensor TestImages() {
  absl::StatusOr<Tensor> all =
      data::ReadDigitImages(testing::RealMnistDir() + "/t10k-images-idx3-ubyte");
  EXPECT_TRUE(all.ok()) << all.status();
  return Tensor::Wrap(all->data<float>(), Shape({100, 1, 28, 28}), kFloat).Clone();
}

class RealMnistOnnxTest : public testing::RealMnistTest,
                          public ::testing::WithParamInterface<std::string> {};

// The CLI's export of a snapshot against flowrt's own probabilities (softmax of the logits).
TEST_P(RealMnistOnnxTest, CliExportMatchesFlowrtInOnnxruntime) {
  const jobs::Model* model = jobs::FindModel(GetParam());
  auto logits = [model](const Blob& x) { return model->logits(x, {.train = false}); };
  Session session({.seed = 3, .threads = 1});
  JobFunction job =
      global_function(session, "eval", JobType::kPredict, logits, Placeholder({1, 1, 28, 28}));
  ASSERT_TRUE(job.Compile().ok());
  const auto variables = RandomVariables(session);
  ASSERT_TRUE(checkpoint::SaveSnapshot(Path("snapshot"), variables).ok());

  testing::CommandResult r = RunFlowrt(absl::StrCat(
      "ckpt export ", Path("snapshot"), " --job=", GetParam(), " --onnx=", Path("m.onnx")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(OnnxCheckerError(Path("m.onnx")), "");

  auto probabilities = [&](const Blob& x) { return nn::softmax(logits(x)); };
  auto predictor = Predictor::Load(Path("snapshot"), probabilities, Placeholder({1, 28, 28}));
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  const Tensor images = TestImages();
  absl::StatusOr<Tensor> expected = (*predictor)->Predict(images);
  ASSERT_TRUE(expected.ok()) << expected.status();
  absl::StatusOr<Tensor> got =
      RunOnnxruntime(Path("m.onnx"), images, expected->shape(), Path("ort"));
  if (absl::IsUnavailable(got.status()) && std::getenv("CI") == nullptr) {
    GTEST_SKIP() << "onnxruntime-node could not be installed (npm unreachable?): "
                 << got.status().message();
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_LE(MaxAbsDiff(*expected, *got), 1e-5f);
  // Not a vacuous match: the rows are real distributions, not all equal.
  EXPECT_GT(std::abs(expected->data<float>()[0] - expected->data<float>()[10]), 1e-4f);
}

INSTANTIATE_TEST_SUITE_P(Models, RealMnistOnnxTest, ::testing::Values("lenet", "mlp"));

// A user-written body over the other mapped ops: strided SAME conv with bias, SAME_LOWER average
// and max pooling (asymmetric pads), transpose, dense with sigmoid, leaky_relu, scalar_mul,
// clip, concat with tanh, matmul + bias_add, softmax; exported through the C++ API.
Blob UserBody(const Blob& images) {
  Blob c = layers::conv2d(images, 4, {3, 3},
                          {.strides = {2, 2},
                           .padding = "SAME",
                           .activation = nn::relu,
                           .name = "c1"});                           // (N, 4, 14, 14)
  Blob a = nn::avg_pool2d(c, {3, 3}, {2, 2}, "SAME", "NCHW", "a1");  // (N, 4, 7, 7)
  Blob m = nn::max_pool2d(a, {2, 2}, {1, 1}, "SAME", "NCHW", "m1");  // (N, 4, 7, 7)
  Blob t = transpose(m, {0, 2, 3, 1});                               // (N, 7, 7, 4)
  Blob flat = reshape(t, {t.ok() ? t.shape()[0] : 0, -1});           // (N, 196)
  Blob h = layers::dense(flat, 16, {.activation = nn::sigmoid, .name = "d1"});
  // sigmoid · 3 ∈ (0, 3) around 1.5: the clip cuts the tails only, so the rest shows through.
  h = math::clip_by_value(math::multiply(nn::leaky_relu(h, 0.1f), 3.f), 0.f, 1.6f);
  Blob both = concat({h, nn::tanh(h)}, 1);  // (N, 32)
  Blob w = get_variable("w2", Shape({32, 10}), {.initializer = random_normal_initializer(0, 0.2)});
  Blob b = get_variable("b2", Shape({10}), {.initializer = zeros_initializer()});
  return nn::softmax(nn::bias_add(math::matmul(both, w), b, "NC"));
}

class RealMnistOnnxUserBodyTest : public testing::RealMnistTest {};

TEST_F(RealMnistOnnxUserBodyTest, CppApiExportMatchesFlowrtInOnnxruntime) {
  Session scratch({.seed = 5, .threads = 1});
  JobFunction job =
      global_function(scratch, "user", JobType::kPredict, UserBody, Placeholder({1, 1, 28, 28}));
  ASSERT_TRUE(job.Compile().ok()) << job.Compile();
  std::map<std::string, Tensor> variables;
  for (auto& [name, value] : RandomVariables(scratch)) variables.emplace(name, std::move(value));
  const Placeholder example({1, 28, 28}, kFloat, "pixels");
  auto predictor = Predictor::Create(variables, UserBody, example);
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  absl::Status exported = export_onnx(variables, UserBody, example, Path("user.onnx"));
  ASSERT_TRUE(exported.ok()) << exported;
  EXPECT_EQ(OnnxCheckerError(Path("user.onnx")), "");
  const Tensor images = TestImages();
  absl::StatusOr<Tensor> expected = (*predictor)->Predict(images);
  ASSERT_TRUE(expected.ok()) << expected.status();
  absl::StatusOr<Tensor> got =
      RunOnnxruntime(Path("user.onnx"), images, expected->shape(), Path("ort"));
  if (absl::IsUnavailable(got.status()) && std::getenv("CI") == nullptr) {
    GTEST_SKIP() << "onnxruntime-node could not be installed: " << got.status().message();
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_LE(MaxAbsDiff(*expected, *got), 1e-5f);
  EXPECT_GT(std::abs(expected->data<float>()[0] - expected->data<float>()[10]), 1e-4f);
}

class OnnxExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flowrt_onnx_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

Blob MlpProbabilities(const Blob& x) { return nn::softmax(jobs::MlpLogits(x, {})); }

// The MLP's initial variables.
std::map<std::string, Tensor> MlpVariables() {
  Session scratch({.threads = 1});
  JobFunction job = global_function(scratch, "init", JobType::kPredict, MlpProbabilities,
                                    Placeholder({1, 1, 28, 28}));
  EXPECT_TRUE(job.Compile().ok());
  return scratch.get_all_variables();
}

absl::Status ExportMlp(const std::string& path, const OnnxExportOptions& options = {}) {
  return export_onnx(MlpVariables(), MlpProbabilities, Placeholder({1, 28, 28}), path, options);
}

TEST_F(OnnxExportTest, OpWithoutMappingIsRefusedByNameAndType) {
  Session session({.threads = 1});
  JobFunction job = global_function(
      session, "loss", JobType::kPredict,
      [](Blob images, Blob labels) {
        return nn::sparse_softmax_cross_entropy_with_logits(labels, jobs::MlpLogits(images, {}));
      },
      Placeholder({4, 1, 28, 28}), Placeholder({4}, kInt32));
  absl::Status status = export_onnx(job, Path("loss.onnx"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
  EXPECT_TRUE(absl::StrContains(status.message(),
                                "op 'sparse_softmax_cross_entropy' of type "
                                "sparse_softmax_cross_entropy has no ONNX mapping"))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "job 'loss'")) << status;
  EXPECT_FALSE(std::filesystem::exists(Path("loss.onnx")));
}

TEST_F(OnnxExportTest, UnwritablePathsAreRefusedWithTheFileNamed) {
  std::ofstream(Path("plain")) << "x";
  absl::Status under_file = ExportMlp(Path("plain/m.onnx"));
  EXPECT_FALSE(under_file.ok());
  EXPECT_TRUE(absl::StrContains(under_file.message(), "cannot write " + Path("plain/m.onnx")))
      << under_file;
  std::filesystem::create_directories(Path("dir.onnx"));
  absl::Status on_directory = ExportMlp(Path("dir.onnx"));
  EXPECT_TRUE(absl::StrContains(on_directory.message(), "is a directory, not a file"))
      << on_directory;
  if (::geteuid() != 0) {  // root writes anywhere
    std::filesystem::create_directories(Path("ro"));
    std::filesystem::permissions(
        Path("ro"), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    absl::Status read_only = ExportMlp(Path("ro/m.onnx"));
    EXPECT_TRUE(absl::StrContains(read_only.message(), Path("ro/"))) << read_only;
  }
  // A writable path after all that: the file appears, and a second export replaces it.
  ASSERT_TRUE(ExportMlp(Path("sub/m.onnx")).ok());
  ASSERT_TRUE(ExportMlp(Path("sub/m.onnx")).ok());
  EXPECT_GT(std::filesystem::file_size(Path("sub/m.onnx")), 784 * 512 * 4);
}

TEST_F(OnnxExportTest, TrainJobIsRefused) {
  Session session({.threads = 1});
  JobFunction train = global_function(
      session, "train", JobType::kTrain,
      [](Blob images, Blob labels) {
        Blob loss = math::reduce_mean(
            nn::sparse_softmax_cross_entropy_with_logits(labels, jobs::MlpLogits(images, {})));
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f})).minimize(loss);
        return loss;
      },
      Placeholder({4, 1, 28, 28}), Placeholder({4}, kInt32));
  absl::Status status = export_onnx(train, Path("t.onnx"));
  EXPECT_TRUE(absl::StrContains(status.message(), "job 'train' is a train job")) << status;
}

TEST_F(OnnxExportTest, ReshapeAcrossTheBatchNeedsAFixedBatch) {
  auto body = [](const Blob& x) { return reshape(x, {2, -1}); };  // (1, 1, 28, 28) → (2, 392)
  absl::Status status =
      export_onnx(std::map<std::string, Tensor>(), body, Placeholder({1, 28, 28}), Path("r.onnx"));
  EXPECT_TRUE(absl::StrContains(status.message(), "changes the batch dimension")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "(reshape)")) << status;
  ASSERT_TRUE(export_onnx(std::map<std::string, Tensor>(), body, Placeholder({1, 28, 28}),
                          Path("r.onnx"), {.dynamic_batch = false})
                  .ok());
  EXPECT_EQ(OnnxCheckerError(Path("r.onnx")), "");
}

TEST_F(OnnxExportTest, OutputNamesMustMatchTheFetches) {
  absl::Status status = ExportMlp(Path("m.onnx"), {.output_names = {"a", "b"}});
  EXPECT_TRUE(absl::StrContains(status.message(), "returns 1 blobs but 2 output_names")) << status;
}

TEST_F(OnnxExportTest, CliRefusesAnUnknownJobAndAMissingSnapshot) {
  testing::CommandResult r = RunFlowrt("ckpt export " + Path("none") + " --job=vgg --onnx=x.onnx");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.output, "unknown --job='vgg'")) << r.output;
  r = RunFlowrt("ckpt export " + Path("none") + " --job=mlp --onnx=" + Path("x.onnx"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.output, Path("none"))) << r.output;
  EXPECT_FALSE(std::filesystem::exists(Path("x.onnx")));
}

}  // namespace
}  // namespace flow

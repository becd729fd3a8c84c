// flowrt predict end to end: a LeNet snapshot, a PGM and an IDX file classified (text and JSON,
// top class as flow::Predictor computes it), a hostile file refused by name while the others
// are still classified.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "data/digit_image.h"
#include "data/idx.h"
#include "graph/checkpoint.h"
#include "graph/flow.h"
#include "jobs/models.h"
#include "tests/testing/command.h"
#include "tests/testing/scratch_dir.h"

namespace flow {
namespace {

Blob LenetLogits(const Blob& images) { return jobs::LenetLogits(images, {}); }

class PredictCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Session session({.seed = 21, .threads = 1});
    JobFunction job = global_function(session, "lenet", JobType::kPredict, LenetLogits,
                                      Placeholder({1, 1, 28, 28}));
    ASSERT_TRUE(job.Compile().ok());
    ASSERT_TRUE(checkpoint::save(Path("lenet"), session).ok());
    std::string pgm = "P5\n28 28\n255\n";
    for (int i = 0; i < 784; ++i) pgm.push_back(static_cast<char>((i * 7) % 256));
    Write("a.pgm", pgm);
    Tensor u8(Shape({3, 28, 28}), DataType::kUInt8);
    for (int i = 0; i < 3 * 784; ++i) u8.data<uint8_t>()[i] = static_cast<uint8_t>(i % 253);
    Write("t.idx", data::EncodeIdx(u8));
    Write("cut.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16));
  }
  std::string Path(const std::string& name) const { return scratch_.File(name); }
  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(Path(name), std::ios::binary) << bytes;
  }
  // The most probable class of the image file `name`, through the C++ predictor.
  int TopClass(const std::string& name) {
    auto predictor = Predictor::Load(Path("lenet"), LenetLogits, Placeholder({1, 28, 28}));
    EXPECT_TRUE(predictor.ok()) << predictor.status();
    absl::StatusOr<Tensor> images = data::ReadDigitImages(Path(name));
    EXPECT_TRUE(images.ok()) << images.status();
    absl::StatusOr<Tensor> logits = (*predictor)->Predict(*images);
    EXPECT_TRUE(logits.ok()) << logits.status();
    const float* row = logits->data<float>();
    return static_cast<int>(std::max_element(row, row + 10) - row);
  }
  testing::ScratchDir scratch_;
  const std::string dir_ = scratch_.path();
};

TEST_F(PredictCliTest, ClassifiesPgmAndIdxAndRefusesATruncatedPngByName) {
  const testing::CommandResult r =
      testing::RunFlowrt(absl::StrCat("predict --job=lenet --load=", Path("lenet"), " ",
                                      Path("a.pgm"), " ", Path("cut.png"), " ", Path("t.idx")));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(
      absl::StrContains(r.output, absl::StrCat(Path("a.pgm"), ": ", TopClass("a.pgm"), " ")))
      << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, absl::StrCat(Path("cut.png"), ": "))) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "PNG")) << r.output;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(absl::StrContains(r.output, absl::StrCat(Path("t.idx"), "#", i, ": "))) << r.output;
  }
  // Three classes per line by default: two separating commas.
  const size_t line = r.output.find(Path("a.pgm") + ": ");
  const std::string text = r.output.substr(line, r.output.find('\n', line) - line);
  EXPECT_EQ(std::count(text.begin(), text.end(), ','), 2) << text;
}

TEST_F(PredictCliTest, JsonGivesOneObjectPerImageWithTopK) {
  const testing::CommandResult r = testing::RunFlowrt(absl::StrCat(
      "predict --job=lenet --json --top_k=2 --load=", Path("lenet"), " ", Path("a.pgm")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string want =
      absl::StrCat("{\"file\":\"", Path("a.pgm"),
                   "\",\"index\":0,\"top\":[{\"class\":", TopClass("a.pgm"), ",\"p\":");
  EXPECT_TRUE(absl::StartsWith(r.output, want)) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '{'), 3) << r.output;  // 1 + 2 classes
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST_F(PredictCliTest, RefusesASnapshotOfAnotherModel) {
  const testing::CommandResult r = testing::RunFlowrt(
      absl::StrCat("predict --job=mlp --load=", Path("lenet"), " ", Path("a.pgm")));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "does not fit")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "dense1-weight (snapshot (512, 3136)")) << r.output;
}

}  // namespace
}  // namespace flow

// flowrt predict --job=lenet|mlp|mlp_finetune --load=SNAPSHOT FILE...: classifies the digits in
// PNG, PGM or IDX images files (data/digit_image.h says what is accepted) with flow::Predictor.
//
//   $ flowrt predict --job=lenet --load=lenet_models_1 seven.png t10k-images-idx3-ubyte
//   seven.png: 7 0.9991, 2 0.0004, 3 0.0002
//   t10k-images-idx3-ubyte#0: 7 0.9999, ...
//   $ flowrt predict ... --json seven.png    # one JSON object per image and line
//   {"file":"seven.png","index":0,"top":[{"class":7,"p":0.9991},...]}
//
// A file that cannot be read is reported on stderr with its name and the reason; the other files
// are still classified, and the exit code is 1.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/digit_image.h"
#include "graph/predictor.h"
#include "jobs/models.h"
#include "runtime/status.h"
#include "tools/cli/commands.h"

ABSL_FLAG(int32_t, top_k, 3, "predict: classes to print per image, most probable first");
ABSL_DECLARE_FLAG(std::string, job);
ABSL_DECLARE_FLAG(std::string, load);
ABSL_DECLARE_FLAG(int32_t, threads);
ABSL_DECLARE_FLAG(bool, json);

namespace flow::cli {
namespace {

// Images per predictor call: an IDX file of 10000 digits runs in batches, not at once.
constexpr int64_t kBatch = 100;

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, static_cast<char>(c)));
    } else if (c < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

// One output line for image `index` of `file`, from its logits row.
std::string Line(const std::string& file, int64_t index, bool many, const float* logits,
                 int64_t classes, int top_k, bool json) {
  // Softmax in double, shifted by the max logit for stability.
  const double max = *std::max_element(logits, logits + classes);
  std::vector<double> p(classes);
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) sum += p[c] = std::exp(logits[c] - max);
  for (double& v : p) v /= sum;
  std::vector<int> order(classes);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  const int k = std::min<int64_t>(top_k, classes);
  std::string line;
  if (json) {
    line = absl::StrCat("{\"file\":", JsonString(file), ",\"index\":", index, ",\"top\":[");
    for (int i = 0; i < k; ++i) {
      absl::StrAppendFormat(&line, "%s{\"class\":%d,\"p\":%.6g}", i ? "," : "", order[i],
                            p[order[i]]);
    }
    return line + "]}";
  }
  line = many ? absl::StrCat(file, "#", index, ":") : absl::StrCat(file, ":");
  for (int i = 0; i < k; ++i) {
    absl::StrAppendFormat(&line, "%s %d %.4f", i ? "," : "", order[i], p[order[i]]);
  }
  return line;
}

// Classifies every image of `file`, printing one line each.
absl::Status PredictFile(Predictor& predictor, const std::string& file, int top_k, bool json) {
  FLOWRT_ASSIGN_OR_RETURN(Tensor images, data::ReadDigitImages(file));  // (N, 1, 28, 28)
  const int64_t n = images.shape()[0], pixels = 28 * 28;
  for (int64_t begin = 0; begin < n; begin += kBatch) {
    const int64_t size = std::min(kBatch, n - begin);
    const Tensor batch = Tensor::Wrap(images.data<float>() + begin * pixels,
                                      Shape({size, 1, 28, 28}), DataType::kFloat);
    FLOWRT_ASSIGN_OR_RETURN(Tensor logits, predictor.Predict(batch));  // (size, classes)
    const int64_t classes = logits.shape()[1];
    for (int64_t i = 0; i < size; ++i) {
      std::cout << Line(file, begin + i, n > 1, logits.data<float>() + i * classes, classes, top_k,
                        json)
                << "\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace

int RunPredict(const std::vector<std::string>& args) {
  const std::string job = absl::GetFlag(FLAGS_job), load = absl::GetFlag(FLAGS_load);
  const jobs::Model* model = jobs::FindModel(job);
  if (model == nullptr) {
    return Fail("predict", absl::InvalidArgumentError(absl::StrCat(
                               "unknown --job='", job, "' (lenet, mlp or mlp_finetune)")));
  }
  if (load.empty()) return Fail("predict", absl::InvalidArgumentError("needs --load=SNAPSHOT"));
  if (args.empty()) {
    return Fail("predict", absl::InvalidArgumentError(
                               "needs image files: PNG, PGM (P5) or IDX, 28x28 grayscale"));
  }
  const int top_k = absl::GetFlag(FLAGS_top_k);
  if (top_k < 1) return Fail("predict", absl::InvalidArgumentError("--top_k must be >= 1"));
  auto logits = [model](const Blob& images) { return model->logits(images, {.train = false}); };
  absl::StatusOr<std::unique_ptr<Predictor>> predictor =
      Predictor::Load(load, logits, Placeholder({1, 28, 28}, DataType::kFloat),
                      {.threads = absl::GetFlag(FLAGS_threads), .name = "predict_" + job});
  if (!predictor.ok()) return Fail("predict", predictor.status());
  int exit_code = 0;
  for (const std::string& file : args) {
    absl::Status status = PredictFile(**predictor, file, top_k, absl::GetFlag(FLAGS_json));
    if (!status.ok()) {
      Fail("predict", status);  // names the file and the reason
      exit_code = 1;
    }
  }
  return exit_code;
}

}  // namespace flow::cli

// The everyday element-wise ops a user writes after LeNet: subtract, divide, exp, log, sqrt,
// square, abs, leaky_relu and clip_by_value. Forward values at their tricky points (x / 0, ln 0,
// √ of a negative, the kinks of abs, leaky_relu and clip at their bounds) are PyTorch's
// (tests/data/elementwise_reference.txt, made by make_elementwise_reference.py); gradients are
// checked numerically away from the kinks and against PyTorch's choice at them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "graph/autodiff.h"
#include "graph/flow.h"
#include "tests/testing/apply_op.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::ApplyOp;
using testing::CheckGradients;
using testing::CompileOpError;
using testing::OpFn;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(subtract);
FLOWRT_GRADIENT_CHECKED(divide);
FLOWRT_GRADIENT_CHECKED(exp);
FLOWRT_GRADIENT_CHECKED(log);
FLOWRT_GRADIENT_CHECKED(sqrt);
FLOWRT_GRADIENT_CHECKED(square);
FLOWRT_GRADIENT_CHECKED(abs);
FLOWRT_GRADIENT_CHECKED(leaky_relu);
FLOWRT_GRADIENT_CHECKED(clip_by_value);

// One row of the PyTorch reference: `<case> <a...> | <b...> | <out...> | <grad_a...>`, where b
// is empty for unary ops and each list has the same length (nan, inf and -inf as Python prints).
struct ReferenceCase {
  std::vector<float> a, b, out, grad_a;
};

std::vector<float> ParseFloats(const std::string& text) {
  std::istringstream in(text);
  std::vector<float> values;
  // strtof, not stof: stof throws on subnormals (ERANGE), and exp(−100) is one.
  for (std::string word; in >> word;) values.push_back(std::strtof(word.c_str(), nullptr));
  return values;
}

std::map<std::string, ReferenceCase> LoadReference() {
  std::ifstream file(std::string(FLOWRT_TEST_DATA_DIR) + "/elementwise_reference.txt");
  EXPECT_TRUE(file) << "tests/data/elementwise_reference.txt missing";
  std::map<std::string, ReferenceCase> cases;
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    std::vector<std::string> parts;
    std::istringstream rest(line.substr(space + 1));
    for (std::string part; std::getline(rest, part, '|');) parts.push_back(part);
    EXPECT_EQ(parts.size(), 4u) << line;
    if (parts.size() != 4) continue;
    cases[line.substr(0, space)] = {ParseFloats(parts[0]), ParseFloats(parts[1]),
                                    ParseFloats(parts[2]), ParseFloats(parts[3])};
  }
  return cases;
}

// Same value, NaN equal to NaN, infinities by sign; finite values to float rounding.
void ExpectSameValues(const float* got, const std::vector<float>& want, const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(what + " element " + std::to_string(i));
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << got[i];
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]);
    } else {
      EXPECT_NEAR(got[i], want[i], 1e-6f * std::max(1.f, std::fabs(want[i])));
    }
  }
}

// The ops by the reference's case names; binary ones read in[1].
const std::map<std::string, OpFn>& Ops() {
  static const auto* ops = new std::map<std::string, OpFn>{
      {"subtract", [](const std::vector<Blob>& in) { return math::subtract(in[0], in[1]); }},
      {"divide", [](const std::vector<Blob>& in) { return math::divide(in[0], in[1]); }},
      {"exp", [](const std::vector<Blob>& in) { return math::exp(in[0]); }},
      {"log", [](const std::vector<Blob>& in) { return math::log(in[0]); }},
      {"sqrt", [](const std::vector<Blob>& in) { return math::sqrt(in[0]); }},
      {"square", [](const std::vector<Blob>& in) { return math::square(in[0]); }},
      {"abs", [](const std::vector<Blob>& in) { return math::abs(in[0]); }},
      {"leaky_relu", [](const std::vector<Blob>& in) { return nn::leaky_relu(in[0], 0.1f); }},
      {"clip_by_value",
       [](const std::vector<Blob>& in) { return math::clip_by_value(in[0], -0.5f, 0.5f); }},
  };
  return *ops;
}

TEST(ElementwiseMathTest, ForwardMatchesPyTorchAtTheTrickyPoints) {
  const std::map<std::string, ReferenceCase> reference = LoadReference();
  ASSERT_EQ(reference.size(), Ops().size());
  for (const auto& [name, op] : Ops()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(reference.contains(name));
    const ReferenceCase& c = reference.at(name);
    const int64_t n = static_cast<int64_t>(c.a.size());
    std::vector<Tensor> inputs = {Tensor::FromVector<float>({n}, c.a)};
    if (!c.b.empty()) inputs.push_back(Tensor::FromVector<float>({n}, c.b));
    absl::StatusOr<Tensor> out = ApplyOp(op, inputs);
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectSameValues(out->data<float>(), c.out, "out");
  }
}

// d sum(op(a, b)) / da through autodiff, compared with PyTorch's backward, kinks included
// (abs'(0) = 0, leaky_relu'(0) = alpha, clip passes the gradient at its bounds).
TEST(ElementwiseMathTest, GradientMatchesPyTorchAtTheKinks) {
  const std::map<std::string, ReferenceCase> reference = LoadReference();
  for (const auto& [name, op] : Ops()) {
    SCOPED_TRACE(name);
    const ReferenceCase& c = reference.at(name);
    const int64_t n = static_cast<int64_t>(c.a.size());
    std::vector<Placeholder> placeholders = {Placeholder({n})};
    std::vector<Tensor> feeds = {Tensor::FromVector<float>({n}, c.a)};
    if (!c.b.empty()) {
      placeholders.emplace_back(Shape({n}));
      feeds.push_back(Tensor::FromVector<float>({n}, c.b));
    }
    Session session;
    JobFunction job(
        &session, "grad_job", JobType::kPredict,
        [&](const std::vector<Blob>& in) {
          Blob out = op(in);
          absl::StatusOr<std::vector<Blob>> grads = Gradients({out}, {in[0]}, {ones_like(out)});
          return grads.ok() ? *grads : std::vector<Blob>{};
        },
        placeholders);
    absl::StatusOr<std::vector<Tensor>> grad = job.Run(feeds);
    ASSERT_TRUE(grad.ok()) << grad.status();
    ExpectSameValues((*grad)[0].data<float>(), c.grad_a, "grad");
  }
}

TEST(ElementwiseMathTest, GradientsMatchNumeric) {
  // Inputs away from kinks and singularities: log/sqrt/divide get positive inputs.
  const Tensor x = RandomTensor({3, 4}, 1, /*min_abs=*/0.1);
  const Tensor y = RandomTensor({3, 4}, 2, /*min_abs=*/0.1);
  Tensor positive = RandomTensor({3, 4}, 3);
  for (int64_t i = 0; i < positive.num_elements(); ++i) {
    positive.data<float>()[i] = 0.5f + std::fabs(positive.data<float>()[i]);
  }
  for (const char* name : {"subtract", "exp", "square", "abs", "leaky_relu", "clip_by_value"}) {
    SCOPED_TRACE(name);
    const OpFn& op = Ops().at(name);
    const bool binary = std::string(name) == "subtract";
    // clip_by_value: keep x off its bounds ±0.5.
    Tensor input = x;
    if (std::string(name) == "clip_by_value") {
      for (int64_t i = 0; i < input.num_elements(); ++i) {
        float& v = input.data<float>()[i];
        if (std::fabs(std::fabs(v) - 0.5f) < 0.05f) v *= 0.8f;
      }
    }
    EXPECT_TRUE(CheckGradients(op, binary ? std::vector<Tensor>{input, y} : std::vector{input}));
  }
  for (const char* name : {"log", "sqrt"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(CheckGradients(Ops().at(name), {positive}));
  }
  EXPECT_TRUE(CheckGradients(Ops().at("divide"), {x, positive}));
}

TEST(ElementwiseMathTest, ShapeMismatchNamesTheOpAndBothShapes) {
  for (const char* name : {"subtract", "divide"}) {
    SCOPED_TRACE(name);
    const absl::Status status = CompileOpError(Ops().at(name), {{2, 3}, {3, 2}});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find(std::string("(") + name + ")"), std::string::npos) << status;
    EXPECT_NE(status.message().find("(3, 2)"), std::string::npos) << status;
    EXPECT_NE(status.message().find("(2, 3)"), std::string::npos) << status;
  }
}

TEST(ElementwiseMathTest, ClipWithMinAboveMaxIsRefused) {
  const absl::Status status = CompileOpError(
      [](const std::vector<Blob>& in) { return math::clip_by_value(in[0], 1.f, -1.f); }, {{4}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("min_value 1 must not be above max_value -1"), std::string::npos)
      << status;
}

TEST(ElementwiseMathTest, IntegerInputIsRefused) {
  Session session;
  JobFunction job(&session, "ints", JobType::kPredict,
                  [](const std::vector<Blob>& in) { return std::vector<Blob>{math::exp(in[0])}; },
                  {Placeholder({4}, kInt32)});
  const absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("(exp)"), std::string::npos) << status;
}

// As a layer's activation, through a captureless lambda that fixes alpha.
TEST(ElementwiseMathTest, LeakyReluIsALayerActivation) {
  Session session;
  JobFunction job(
      &session, "dense_leaky", JobType::kPredict,
      [](const std::vector<Blob>& in) {
        return std::vector<Blob>{layers::dense(
            in[0], 3,
            {.activation = [](const Blob& x,
                              absl::string_view name) { return nn::leaky_relu(x, 0.5f, name); },
             .kernel_initializer = constant_initializer(-1.f),
             .name = "dense1"})};
      },
      {Placeholder({1, 2})});
  absl::StatusOr<std::vector<Tensor>> out = job.Run({Tensor::FromVector<float>({1, 2}, {1, 2})});
  ASSERT_TRUE(out.ok()) << out.status();
  // x · Wᵀ = −3 per unit; leaky_relu(−3, 0.5) = −1.5.
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], -1.5f);
}

}  // namespace
}  // namespace flow

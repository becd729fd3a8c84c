// reduce_max and softmax_cross_entropy (dense labels): forward values and gradients at their
// tricky cases are PyTorch's (tests/data/reduction_reference.txt, made by
// make_reduction_reference.py): ties split the max's gradient, −inf rows, extreme logits, labels
// that do not sum to 1. Gradients are also checked numerically, and bad shapes are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "graph/autodiff.h"
#include "graph/flow.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::CheckGradients;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(reduce_max);
FLOWRT_GRADIENT_CHECKED(softmax_cross_entropy);

using Case = std::map<std::string, std::vector<float>>;

// Every case of the reference file by name; each key=v,v,... as floats (empty list for "axes=").
std::map<std::string, Case> LoadReference() {
  std::ifstream file(std::string(FLOWRT_TEST_DATA_DIR) + "/reduction_reference.txt");
  EXPECT_TRUE(file) << "tests/data/reduction_reference.txt missing";
  std::map<std::string, Case> cases;
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    Case& c = cases[words[0]];
    for (size_t i = 1; i < words.size(); ++i) {
      const size_t eq = words[i].find('=');
      std::vector<float>& values = c[words[i].substr(0, eq)];
      for (absl::string_view v : absl::StrSplit(words[i].substr(eq + 1), ',', absl::SkipEmpty())) {
        values.push_back(std::strtof(std::string(v).c_str(), nullptr));  // strtof: inf, subnormals
      }
    }
  }
  return cases;
}

std::vector<int64_t> Ints(const std::vector<float>& v) { return {v.begin(), v.end()}; }

void ExpectClose(const Tensor& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size())) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isinf(want[i])) {
      EXPECT_EQ(got.data<float>()[i], want[i]) << what << " element " << i;
    } else {
      EXPECT_NEAR(got.data<float>()[i], want[i], 2e-6f * std::max(1.f, std::fabs(want[i])))
          << what << " element " << i;
    }
  }
}

// The forward value and d sum(out · w) / d each input, through autodiff as training runs.
std::vector<Tensor> ValueAndGradients(const testing::OpFn& op, const std::vector<Tensor>& inputs,
                                      const Tensor& w) {
  Session session;
  std::vector<Placeholder> placeholders;
  for (const Tensor& t : inputs) placeholders.emplace_back(t.shape());
  placeholders.emplace_back(w.shape());
  JobFunction job(
      &session, "job", JobType::kPredict,
      [&](const std::vector<Blob>& in) {
        std::vector<Blob> xs(in.begin(), in.end() - 1);
        Blob out = op(xs);
        absl::StatusOr<std::vector<Blob>> grads = Gradients({out}, xs, {in.back()});
        if (!grads.ok()) return std::vector<Blob>{};
        std::vector<Blob> fetches = {out};
        fetches.insert(fetches.end(), grads->begin(), grads->end());
        return fetches;
      },
      placeholders);
  std::vector<Tensor> feeds = inputs;
  feeds.push_back(w);
  absl::StatusOr<std::vector<Tensor>> out = job.Run(feeds);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<Tensor>{};
}

TEST(ReduceMaxTest, MatchesPyTorchWithTiesAndInfinities) {
  const std::map<std::string, Case> reference = LoadReference();
  int cases = 0;
  for (const auto& [name, c] : reference) {
    if (name.rfind("reduce_max", 0) != 0) continue;
    SCOPED_TRACE(name);
    ++cases;
    const std::vector<int64_t> axes = Ints(c.at("axes"));
    const bool keepdims = c.at("keepdims")[0] != 0;
    const Tensor x = Tensor::FromVector<float>(Shape(Ints(c.at("shape"))), c.at("x"));
    // w has the output's shape: PyTorch's out shape is what reduce_max must infer.
    std::vector<int64_t> out_dims;
    for (int i = 0; i < x.shape().rank(); ++i) {
      const bool reduced = axes.empty() || std::find(axes.begin(), axes.end(), i) != axes.end();
      if (!reduced) out_dims.push_back(x.shape()[i]);
      if (reduced && keepdims) out_dims.push_back(1);
    }
    const Tensor w = Tensor::FromVector<float>(Shape(out_dims), c.at("w"));
    std::vector<Tensor> got = ValueAndGradients(
        [&](const std::vector<Blob>& in) { return math::reduce_max(in[0], axes, keepdims); }, {x},
        w);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].shape(), Shape(out_dims));
    ExpectClose(got[0], c.at("out"), "out");
    ExpectClose(got[1], c.at("grad_x"), "grad_x");
  }
  EXPECT_EQ(cases, 4);
}

// Distinct values 0.05 apart in a scrambled order: the checker's ±0.01 steps never change which
// element is a group's max, so the max is differentiable there.
Tensor SpreadValues(const Shape& shape) {
  Tensor t(shape, kFloat);
  const int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = 0.05f * static_cast<float>((i * 37) % n);
  return t;
}

TEST(ReduceMaxTest, GradientMatchesNumericAwayFromTies) {
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return math::reduce_max(in[0], {1, 3});
      },
      {SpreadValues({2, 3, 4, 5})}));
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) { return math::reduce_max(in[0], {-1}, true); },
      {SpreadValues({3, 4})}));
}

TEST(ReduceMaxTest, NaNPropagatesAndBadAxesAreRefused) {
  Session session;
  JobFunction job(
      &session, "nan", JobType::kPredict,
      [](const std::vector<Blob>& in) { return std::vector<Blob>{math::reduce_max(in[0], {1})}; },
      {Placeholder({2, 3})});
  absl::StatusOr<std::vector<Tensor>> out =
      job.Run({Tensor::FromVector<float>({2, 3}, {1, NAN, 3, 4, 5, 6})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(std::isnan((*out)[0].data<float>()[0]));
  EXPECT_EQ((*out)[0].data<float>()[1], 6.f);

  JobFunction bad(
      &session, "bad_axes", JobType::kPredict,
      [](const std::vector<Blob>& in) { return std::vector<Blob>{math::reduce_max(in[0], {2})}; },
      {Placeholder({2, 3})});
  const absl::Status status = bad.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("(reduce_max)"), std::string::npos) << status;
  EXPECT_NE(status.message().find("(2, 3)"), std::string::npos) << status;
}

TEST(SoftmaxCrossEntropyTest, MatchesPyTorchForExtremeLogitsAndUnnormalizedLabels) {
  const std::map<std::string, Case> reference = LoadReference();
  const Case& c = reference.at("softmax_cross_entropy_extreme");
  const Shape shape(Ints(c.at("shape")));
  std::vector<Tensor> got = ValueAndGradients(
      [](const std::vector<Blob>& in) {
        return nn::softmax_cross_entropy_with_logits(in[1], in[0]);
      },
      {Tensor::FromVector<float>(shape, c.at("logits")),
       Tensor::FromVector<float>(shape, c.at("labels"))},
      Tensor::FromVector<float>(Shape({shape[0]}), c.at("w")));
  ASSERT_EQ(got.size(), 3u);
  ExpectClose(got[0], c.at("out"), "loss");
  ExpectClose(got[1], c.at("grad_logits"), "grad_logits");
  ExpectClose(got[2], c.at("grad_labels"), "grad_labels");
}

TEST(SoftmaxCrossEntropyTest, GradientMatchesNumericForBothInputs) {
  Tensor labels = RandomTensor({4, 5}, 3);
  for (int64_t i = 0; i < labels.num_elements(); ++i) {
    labels.data<float>()[i] = std::fabs(labels.data<float>()[i]);
  }
  EXPECT_TRUE(CheckGradients(
      [](const std::vector<Blob>& in) {
        return nn::softmax_cross_entropy_with_logits(in[1], in[0]);
      },
      {RandomTensor({4, 5}, 1), labels}));
}

TEST(SoftmaxCrossEntropyTest, LabelsOfAnotherShapeAreRefusedNamingBoth) {
  Session session;
  JobFunction job(&session, "bad", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    return std::vector<Blob>{nn::softmax_cross_entropy_with_logits(in[1], in[0])};
                  },
                  {Placeholder({4, 5}), Placeholder({4, 3})});
  const absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("logits (4, 5) and labels (4, 3) do not fit"), std::string::npos)
      << status;
}

}  // namespace
}  // namespace flow

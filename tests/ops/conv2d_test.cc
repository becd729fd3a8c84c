// conv2d: forward values against PyTorch references (tests/data/conv2d_reference.txt, made by
// tests/data/make_conv_reference.py), gradient checks of conv2d_grad_data / conv2d_grad_weight,
// shape errors, and flow::layers::conv2d (variables, padding modes, fusing).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "framework/attr.h"
#include "framework/job_builder.h"
#include "graph/autodiff.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "graph/initializer.h"
#include "ops/window.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using testing::CheckGradients;
using testing::RandomTensor;

FLOWRT_GRADIENT_CHECKED(conv2d);

struct ConvAttrs {
  std::vector<int64_t> strides = {1, 1};
  std::vector<int64_t> dilations = {1, 1};
  int64_t groups = 1;
  std::string padding = "SAME";  // resolved with ComputeWindow, as the layer does
  std::string activation;
  std::vector<int64_t> pads;  // {top, bottom, left, right}: used instead of `padding` if set
};

// conv2d op on in = {x, weight[, bias]} with the pads `padding` gives for these shapes.
Blob ConvOp(const std::vector<Blob>& in, const ConvAttrs& a) {
  std::vector<int64_t> before(2), after(2);
  for (int d = 0; d < 2; ++d) {
    if (!a.pads.empty()) {
      before[d] = a.pads[2 * d];
      after[d] = a.pads[2 * d + 1];
      continue;
    }
    if (in[0].shape().rank() != 4 || in[1].shape().rank() != 4) continue;  // op reports the rank
    absl::StatusOr<WindowDim> w = ComputeWindow(in[0].shape()[2 + d], in[1].shape()[2 + d],
                                                a.strides[d], a.dilations[d], a.padding);
    FLOWRT_CHECK_OK(w.status());
    before[d] = w->pad_before;
    after[d] = w->pad_after;
  }
  OpBuilder op("conv2d");
  op.Input(in[0]).Input(in[1]);
  if (in.size() == 3) op.Input(in[2]);
  return op.Attr("strides", a.strides)
      .Attr("dilations", a.dilations)
      .Attr("groups", a.groups)
      .Attr("pad_before", before)
      .Attr("pad_after", after)
      .Attr("activation", a.activation)
      .Build1();
}

// ---- forward against PyTorch ----

struct ReferenceCase {
  std::string name;
  ConvAttrs attrs;
  std::vector<int64_t> pads;  // top, bottom, left, right as the script computed them
  std::map<std::string, Tensor> tensors;
};

std::vector<ReferenceCase> ReadReferences(const std::string& path) {
  std::ifstream file(path);
  std::vector<ReferenceCase> cases;
  std::string line;
  while (std::getline(file, line)) {
    std::istringstream in(line);
    std::string key;
    in >> key;
    if (key.empty() || key[0] == '#') continue;
    if (key == "case") {
      cases.emplace_back();
      in >> cases.back().name;
      continue;
    }
    FLOWRT_CHECK(!cases.empty()) << path << ": '" << key << "' before any case";
    ReferenceCase& c = cases.back();
    if (key == "strides") {
      in >> c.attrs.strides[0] >> c.attrs.strides[1];
    } else if (key == "dilations") {
      in >> c.attrs.dilations[0] >> c.attrs.dilations[1];
    } else if (key == "groups") {
      in >> c.attrs.groups;
    } else if (key == "padding") {
      in >> c.attrs.padding;
    } else if (key == "pads") {
      c.pads.resize(4);
      in >> c.pads[0] >> c.pads[1] >> c.pads[2] >> c.pads[3];
    } else if (key == "relu") {
      int relu = 0;
      in >> relu;
      c.attrs.activation = relu ? "relu" : "";
    } else if (key == "tensor") {
      std::string name;
      int rank = 0;
      in >> name >> rank;
      std::vector<int64_t> dims(rank);
      for (int64_t& d : dims) in >> d;
      Tensor t(Shape(dims), kFloat);
      FLOWRT_CHECK(std::getline(file, line)) << path << ": values of " << name << " missing";
      std::istringstream values(line);
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        FLOWRT_CHECK(values >> t.data<float>()[i]) << path << ": " << name << " is short";
      }
      c.tensors[name] = t;
    }
  }
  return cases;
}

TEST(Conv2dTest, MatchesPyTorchWithSameLowerPaddingStridesDilationAndGroups) {
  const std::vector<ReferenceCase> cases =
      ReadReferences(std::string(FLOWRT_TEST_DATA_DIR) + "/conv2d_reference.txt");
  ASSERT_EQ(cases.size(), 5u) << "regenerate with tests/data/make_conv_reference.py";
  for (const ReferenceCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Tensor& x = c.tensors.at("x");
    const Tensor& w = c.tensors.at("weight");
    const Tensor& expected = c.tensors.at("y");
    // Our SAME_LOWER split agrees with the pads the script fed PyTorch's F.pad.
    for (int d = 0; d < 2; ++d) {
      absl::StatusOr<WindowDim> window =
          ComputeWindow(x.shape()[2 + d], w.shape()[2 + d], c.attrs.strides[d],
                        c.attrs.dilations[d], c.attrs.padding);
      ASSERT_TRUE(window.ok()) << window.status();
      EXPECT_EQ(window->pad_before, c.pads[2 * d]);
      EXPECT_EQ(window->pad_after, c.pads[2 * d + 1]);
      EXPECT_EQ(window->out, expected.shape()[2 + d]);
    }
    std::vector<Tensor> feeds = {x, w};
    if (c.tensors.contains("bias")) feeds.push_back(c.tensors.at("bias"));
    std::vector<Placeholder> placeholders;
    for (const Tensor& t : feeds) placeholders.emplace_back(t.shape());
    Session session;
    JobFunction job(
        &session, "conv", JobType::kPredict,
        [&](const std::vector<Blob>& in) { return std::vector<Blob>{ConvOp(in, c.attrs)}; },
        placeholders);
    absl::StatusOr<std::vector<Tensor>> y = job.Run(feeds);
    ASSERT_TRUE(y.ok()) << y.status();
    ASSERT_EQ((*y)[0].shape(), expected.shape());
    for (int64_t i = 0; i < expected.num_elements(); ++i) {
      const float want = expected.data<float>()[i];
      ASSERT_NEAR((*y)[0].data<float>()[i], want, 1e-5 + 1e-5 * std::abs(want)) << "element " << i;
    }
  }
}

TEST(Conv2dTest, SumsTheWindowWithBiasAndFusedRelu) {
  // x = 1..16 as (1, 1, 4, 4), weight all ones 2x2, VALID stride 2 → window sums.
  std::vector<float> values(16);
  for (int i = 0; i < 16; ++i) values[i] = static_cast<float>(i + 1);
  Session session;
  JobFunction job(&session, "conv", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    return std::vector<Blob>{
                        ConvOp(in, {.strides = {2, 2}, .padding = "VALID", .activation = "relu"})};
                  },
                  {Placeholder({1, 1, 4, 4}), Placeholder({1, 1, 2, 2}), Placeholder({1})});
  absl::StatusOr<std::vector<Tensor>> y =
      job.Run({Tensor::FromVector<float>({1, 1, 4, 4}, values),
               Tensor::FromVector<float>({1, 1, 2, 2}, {1, 1, 1, 1}),
               Tensor::FromVector<float>({1}, {-20})});
  ASSERT_TRUE(y.ok()) << y.status();
  ASSERT_EQ((*y)[0].shape(), Shape({1, 1, 2, 2}));
  const float* v = (*y)[0].data<float>();
  EXPECT_FLOAT_EQ(v[0], 0);  // 1+2+5+6 − 20 < 0
  EXPECT_FLOAT_EQ(v[1], 3 + 4 + 7 + 8 - 20);
  EXPECT_FLOAT_EQ(v[2], 9 + 10 + 13 + 14 - 20);
  EXPECT_FLOAT_EQ(v[3], 11 + 12 + 15 + 16 - 20);
}

// ---- gradients ----

testing::OpFn Conv(ConvAttrs attrs) {
  return [attrs](const std::vector<Blob>& in) { return ConvOp(in, attrs); };
}

TEST(Conv2dTest, GradientMatchesNumericWithBias) {
  EXPECT_TRUE(CheckGradients(Conv({}), {RandomTensor({2, 3, 6, 5}, 1),
                                        RandomTensor({4, 3, 3, 3}, 2), RandomTensor({4}, 3)}));
}

TEST(Conv2dTest, GradientMatchesNumericWithoutBias) {
  EXPECT_TRUE(CheckGradients(Conv({.padding = "VALID"}),
                             {RandomTensor({2, 2, 5, 6}, 4), RandomTensor({3, 2, 2, 3}, 5)}));
}

TEST(Conv2dTest, GradientMatchesNumericWithStride2SameLowerOnOddSizes) {
  // H 7 → pads 1/1, W 9 with a 4-wide kernel → pads 2/1 (larger half before).
  EXPECT_TRUE(CheckGradients(
      Conv({.strides = {2, 2}}),
      {RandomTensor({2, 2, 7, 9}, 6), RandomTensor({3, 2, 3, 4}, 7), RandomTensor({3}, 8)}));
}

TEST(Conv2dTest, GradientMatchesNumericWithDilation2) {
  EXPECT_TRUE(CheckGradients(
      Conv({.dilations = {2, 2}}),
      {RandomTensor({1, 2, 7, 8}, 9), RandomTensor({3, 2, 3, 3}, 10), RandomTensor({3}, 11)}));
  EXPECT_TRUE(CheckGradients(Conv({.strides = {2, 1}, .dilations = {2, 1}, .padding = "VALID"}),
                             {RandomTensor({1, 2, 9, 6}, 12), RandomTensor({2, 2, 3, 2}, 13)}));
}

// One input channel and 8k filters: on AVX2 conv2d_grad_weight runs flowrt's direct kernel
// (ops/conv2d_grad_weight_direct_kernel.h), as for LeNet's conv1.
TEST(Conv2dTest, GradientMatchesNumericWithOneInputChannelDirectWeightGradient) {
  EXPECT_TRUE(CheckGradients(Conv({}), {RandomTensor({2, 1, 6, 5}, 21),
                                        RandomTensor({16, 1, 3, 3}, 22), RandomTensor({16}, 23)}));
  EXPECT_TRUE(CheckGradients(
      Conv({.strides = {2, 1}, .dilations = {1, 2}}),
      {RandomTensor({2, 1, 7, 8}, 24), RandomTensor({16, 1, 3, 2}, 25), RandomTensor({16}, 26)}));
}

TEST(Conv2dTest, GradientMatchesNumericWithGroups2) {
  EXPECT_TRUE(CheckGradients(
      Conv({.groups = 2}),
      {RandomTensor({2, 4, 5, 5}, 14), RandomTensor({6, 2, 3, 3}, 15), RandomTensor({6}, 16)}));
}

// Pre-activations within this distance of 0 could cross the ReLU kink under the checker's steps.
double MinAbsPreActivation(const std::vector<Tensor>& inputs, const ConvAttrs& attrs) {
  Session session;
  std::vector<Placeholder> placeholders;
  for (const Tensor& t : inputs) placeholders.emplace_back(t.shape());
  JobFunction job(
      &session, "pre", JobType::kPredict,
      [&](const std::vector<Blob>& in) { return std::vector<Blob>{ConvOp(in, attrs)}; },
      placeholders);
  absl::StatusOr<std::vector<Tensor>> y = job.Run(inputs);
  FLOWRT_CHECK_OK(y.status());
  double min_abs = 1e30;
  for (int64_t i = 0; i < (*y)[0].num_elements(); ++i) {
    min_abs = std::min(min_abs, std::abs(static_cast<double>((*y)[0].data<float>()[i])));
  }
  return min_abs;
}

TEST(Conv2dTest, GradientMatchesNumericWithFusedRelu) {
  // Pick the first seed whose pre-activations all keep 0.05 from the kink; a checker step of
  // 1e-3 on one input moves a pre-activation by at most 1e-3 · max|w or x| ≤ 1e-3.
  ConvAttrs attrs = {.strides = {2, 2}};
  for (uint64_t seed = 1; seed < 100; seed += 3) {
    std::vector<Tensor> inputs = {RandomTensor({1, 2, 5, 5}, seed),
                                  RandomTensor({3, 2, 3, 3}, seed + 1),
                                  RandomTensor({3}, seed + 2)};
    if (MinAbsPreActivation(inputs, attrs) < 0.05) continue;
    attrs.activation = "relu";
    EXPECT_TRUE(CheckGradients(Conv(attrs), inputs, {.eps = 1e-3, .rtol = 3e-2, .atol = 3e-3}))
        << "seed " << seed;
    return;
  }
  FAIL() << "no seed keeps the pre-activations away from 0";
}

TEST(Conv2dTest, OnlyTheNeededGradientOpsAreEmitted) {
  // d/d(weight) only: no conv2d_grad_data in the job.
  Session session;
  JobFunction job(&session, "grads", JobType::kPredict,
                  [](const std::vector<Blob>& in) {
                    Blob y = ConvOp(in, {});
                    absl::StatusOr<std::vector<Blob>> g = Gradients({y}, {in[1]});
                    return g.ok() ? *g : std::vector<Blob>{};
                  },
                  {Placeholder({1, 2, 4, 4}), Placeholder({3, 2, 3, 3})});
  ASSERT_TRUE(job.Compile().ok());
  int grad_data = 0, grad_weight = 0;
  for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) {
    grad_data += op.type() == "conv2d_grad_data";
    grad_weight += op.type() == "conv2d_grad_weight";
  }
  EXPECT_EQ(grad_data, 0);
  EXPECT_EQ(grad_weight, 1);
}

// ---- shape errors ----

absl::Status CompileConv(const Shape& x, const Shape& w, ConvAttrs attrs = {}) {
  Session session;
  JobFunction job(&session, "bad", JobType::kPredict,
                  [&](const std::vector<Blob>& in) { return std::vector<Blob>{ConvOp(in, attrs)}; },
                  {Placeholder(x), Placeholder(w)});
  return job.Compile();
}

TEST(Conv2dTest, ChannelMismatchNamesTheOpInputsAndShapes) {
  absl::Status status = CompileConv({100, 3, 28, 28}, {32, 1, 5, 5});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("(conv2d): input 'x' (100, 3, 28, 28) has 3 channels but "
                                  "'weight' (32, 1, 5, 5) expects 1·groups"),
            std::string::npos)
      << status;
}

TEST(Conv2dTest, BadGroupsRanksAndWindowsAreErrors) {
  absl::Status status = CompileConv({1, 4, 8, 8}, {3, 2, 3, 3}, {.groups = 2});
  EXPECT_NE(status.message().find("3 filters, not divisible by groups 2"), std::string::npos)
      << status;
  status = CompileConv({4, 8, 8}, {3, 4, 3, 3});
  EXPECT_NE(status.message().find("input 'x' (4, 8, 8) must have rank 4"), std::string::npos)
      << status;
  status = CompileConv({1, 1, 2, 3}, {1, 1, 5, 3}, {.pads = {1, 1, 0, 0}});
  EXPECT_NE(status.message().find("height of input 'x' (1, 1, 2, 3) and 'weight' (1, 1, 5, 3): "
                                  "kernel 5 (dilation 1) is larger than input 2 padded by 1/1"),
            std::string::npos)
      << status;
  status = CompileConv({1, 1, 8, 8}, {1, 1, 3, 3}, {.strides = {0, 1}, .pads = {0, 0, 0, 0}});
  EXPECT_NE(status.message().find("stride 0 must be positive"), std::string::npos) << status;
}

}  // namespace
}  // namespace flow

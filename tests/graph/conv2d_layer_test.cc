// flow::layers::conv2d: OneFlow's variable names and defaults, padding modes resolved to pads,
// relu fused, clear errors; and a small conv net that trains.
#include <gtest/gtest.h>

#include "framework/attr.h"
#include "framework/job_builder.h"
#include "graph/flow.h"
#include "graph/initializer_proto.h"

namespace flow {
namespace {

// Records layer calls into a fresh predict job with one (N, C, H, W) placeholder.
class Conv2dLayerTest : public ::testing::Test {
 protected:
  Conv2dLayerTest() : active_(&builder_) {}
  Blob Images(const Shape& shape) { return builder_.AddPlaceholder("images", shape, kFloat); }
  const flowrt::OpConf* FindOp(const std::string& type) const {
    for (const flowrt::OpConf& op : builder_.job().op()) {
      if (op.type() == type) return &op;
    }
    return nullptr;
  }
  std::string Error() const { return std::string(builder_.status().message()); }

  JobBuilder builder_{"job", flowrt::kPredict};
  JobBuilder::Activation active_;
};

Shape VariableShape(const flowrt::VariableConf* conf) {
  return Shape(std::vector<int64_t>(conf->shape().dim().begin(), conf->shape().dim().end()));
}

TEST_F(Conv2dLayerTest, CreatesOneFlowNamedVariablesWithDefaultInitializers) {
  Blob y = layers::conv2d(Images({100, 1, 28, 28}), 32, {5, 5},
                          {.padding = "SAME", .activation = nn::relu, .name = "conv1"});
  ASSERT_TRUE(builder_.status().ok()) << builder_.status();
  EXPECT_EQ(y.shape(), Shape({100, 32, 28, 28}));

  const flowrt::VariableConf* weight = builder_.FindVariableConf("conv1-weight");
  const flowrt::VariableConf* bias = builder_.FindVariableConf("conv1-bias");
  ASSERT_NE(weight, nullptr);
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(VariableShape(weight), Shape({32, 1, 5, 5}));  // OIHW
  EXPECT_EQ(VariableShape(bias), Shape({32}));
  EXPECT_EQ(weight->initializer().SerializeAsString(),
            InitializerProto::Get(*xavier_uniform_initializer("NCHW")).SerializeAsString());
  EXPECT_EQ(bias->initializer().SerializeAsString(),
            InitializerProto::Get(constant_initializer(0)).SerializeAsString());

  const flowrt::OpConf* conv = FindOp("conv2d");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->name(), "conv1");
  EXPECT_EQ(AttrString(*conv, "activation"), "relu");  // fused: no separate relu op
  EXPECT_EQ(FindOp("relu"), nullptr);
  EXPECT_EQ(AttrInts(*conv, "pad_before"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(AttrInts(*conv, "pad_after"), (std::vector<int64_t>{2, 2}));
}

TEST_F(Conv2dLayerTest, SameIsSameLowerWithStride2OnOddSizes) {
  Blob y = layers::conv2d(Images({2, 3, 7, 9}), 4, {3, 4},
                          {.strides = {2, 2}, .padding = "SAME", .name = "c"});
  ASSERT_TRUE(builder_.status().ok()) << builder_.status();
  EXPECT_EQ(y.shape(), Shape({2, 4, 4, 5}));
  const flowrt::OpConf* conv = FindOp("conv2d");
  EXPECT_EQ(AttrInts(*conv, "pad_before"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(AttrInts(*conv, "pad_after"), (std::vector<int64_t>{1, 1}));
}

TEST_F(Conv2dLayerTest, ValidExplicitDilationGroupsAndScalarSizes) {
  Blob x = Images({1, 4, 10, 10});
  EXPECT_EQ(layers::conv2d(x, 6, {3}, {.name = "valid"}).shape(), Shape({1, 6, 8, 8}));
  EXPECT_EQ(layers::conv2d(x, 6, {3, 3},
                           {.padding = "EXPLICIT", .explicit_padding = {1, 0, 2, 3}, .name = "ex"})
                .shape(),
            Shape({1, 6, 9, 13}));
  EXPECT_EQ(layers::conv2d(x, 2, {3, 3}, {.dilation_rate = {2}, .name = "dil"}).shape(),
            Shape({1, 2, 6, 6}));
  Blob g = layers::conv2d(x, 6, {1, 1}, {.groups = 2, .use_bias = false, .name = "grouped"});
  ASSERT_TRUE(builder_.status().ok()) << builder_.status();
  EXPECT_EQ(g.shape(), Shape({1, 6, 10, 10}));
  EXPECT_EQ(VariableShape(builder_.FindVariableConf("grouped-weight")), Shape({6, 2, 1, 1}));
  EXPECT_EQ(builder_.FindVariableConf("grouped-bias"), nullptr);
}

TEST_F(Conv2dLayerTest, WeightAndBiasNamesAreUsedAsGivenInTheCurrentNamespace) {
  scope::Namespace ns("block");
  layers::conv2d(Images({1, 1, 5, 5}), 2, {3, 3},
                 {.name = "conv", .weight_name = "shared-w", .bias_name = "shared-b"});
  ASSERT_TRUE(builder_.status().ok()) << builder_.status();
  EXPECT_NE(builder_.FindVariableConf("block-shared-w"), nullptr);
  EXPECT_NE(builder_.FindVariableConf("block-shared-b"), nullptr);
  EXPECT_EQ(builder_.FindVariableConf("block-conv-weight"), nullptr);
}

Blob UnfusedRelu(const Blob& x, absl::string_view name) { return nn::relu(x, name); }

TEST_F(Conv2dLayerTest, OtherActivationsAreAppliedAfterTheConv) {
  layers::conv2d(Images({1, 1, 5, 5}), 2, {3, 3}, {.activation = UnfusedRelu, .name = "c"});
  ASSERT_TRUE(builder_.status().ok()) << builder_.status();
  EXPECT_EQ(AttrString(*FindOp("conv2d"), "activation"), "");
  EXPECT_NE(FindOp("relu"), nullptr);
}

TEST_F(Conv2dLayerTest, TwoLayersWithOneNameAreAnError) {
  Blob x = Images({1, 1, 5, 5});
  layers::conv2d(x, 2, {3, 3}, {.name = "conv"});
  layers::conv2d(x, 2, {3, 3}, {.name = "conv"});
  EXPECT_FALSE(builder_.status().ok());
  EXPECT_NE(Error().find("conv-weight"), std::string::npos) << Error();
}

TEST_F(Conv2dLayerTest, BadPaddingModeIsAnError) {
  layers::conv2d(Images({1, 1, 5, 5}), 2, {3, 3}, {.padding = "FULL", .name = "conv"});
  EXPECT_EQ(builder_.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Error().find("conv2d 'conv': unknown padding \"FULL\""), std::string::npos) << Error();
}

TEST_F(Conv2dLayerTest, ValidKernelLargerThanInputIsAnError) {
  layers::conv2d(Images({1, 1, 3, 8}), 2, {5, 5}, {.name = "conv"});
  EXPECT_NE(Error().find("conv2d 'conv': height of input (1, 1, 3, 8): kernel 5 (dilation 1) is "
                         "larger than input 3 with VALID padding"),
            std::string::npos)
      << Error();
}

TEST_F(Conv2dLayerTest, NhwcIsAClearError) {
  layers::conv2d(Images({1, 5, 5, 1}), 2, {3, 3}, {.data_format = "NHWC", .name = "conv"});
  EXPECT_EQ(builder_.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(Error().find("data_format \"NHWC\" is not supported: flowrt runs NCHW only"),
            std::string::npos)
      << Error();
}

TEST_F(Conv2dLayerTest, ChannelsThatGroupsDoNotDivideAreAnError) {
  layers::conv2d(Images({1, 3, 5, 5}), 4, {3, 3}, {.groups = 2, .name = "conv"});
  EXPECT_NE(Error().find("groups 2 must be positive and divide both the 3 input channels"),
            std::string::npos)
      << Error();
}

// A 4-pixel "image" classifier: conv(relu) → dense → loss falls with SGD, end to end through the
// conv kernels' reorders and both gradient ops.
TEST(Conv2dLayerTrainTest, SmallConvNetLossFalls) {
  Session session({.seed = 3, .threads = 1});
  auto train = global_function(
      session, "train_job", JobType::kTrain,
      [](Blob images, Blob labels) {
        Blob c1 = layers::conv2d(images, 8, {3, 3},
                                 {.padding = "SAME", .activation = nn::relu, .name = "conv1"});
        Blob c2 = layers::conv2d(
            c1, 8, {3, 3},
            {.strides = {2, 2}, .padding = "SAME", .activation = nn::relu, .name = "conv2"});
        Blob logits = layers::dense(reshape(c2, {c2.shape()[0], -1}), 2,
                                    {.kernel_initializer = truncated_normal(0.1), .name = "fc"});
        Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f}), {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      Placeholder({16, 1, 6, 6}, kFloat), Placeholder({16}, kInt32));
  // Class 1: a bright top half; class 0: a bright bottom half.
  Tensor images({16, 1, 6, 6}, kFloat), labels({16}, kInt32);
  for (int n = 0; n < 16; ++n) {
    labels.data<int32_t>()[n] = n % 2;
    for (int i = 0; i < 36; ++i) {
      const bool top = i < 18;
      images.data<float>()[n * 36 + i] = (top == (n % 2 == 1)) ? 1.f : 0.1f * (i % 3);
    }
  }
  absl::StatusOr<Tensor> first = train(images, labels);
  ASSERT_TRUE(first.ok()) << first.status();
  double last = first->mean();
  for (int i = 0; i < 60; ++i) {
    absl::StatusOr<Tensor> loss = train(images, labels);
    ASSERT_TRUE(loss.ok()) << loss.status();
    last = loss->mean();
  }
  EXPECT_LT(last, 0.1 * first->mean());
  EXPECT_EQ(session.get_all_variables().at("conv2-weight").shape(), Shape({8, 8, 3, 3}));
}

}  // namespace
}  // namespace flow

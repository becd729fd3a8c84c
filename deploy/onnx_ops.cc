// flowrt op → ONNX nodes (opset 13), one converter per op type; deploy/onnx_ops.h says how they are
// called. Shapes in comments are flowrt's (ops/<op>.cc), which ONNX's operators share: NCHW data,
// OIHW filters, dense weights (units, in) as PyTorch's Linear.
#include "deploy/onnx_ops.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "framework/attr.h"

namespace flow::onnx_export {

OnnxOpContext::OnnxOpContext(const flowrt::OpConf& op, std::vector<BlobDesc> inputs,
                             std::vector<BlobDesc> outputs, std::vector<bool> batched,
                             bool dynamic_batch, onnx::GraphProto* graph)
    : op_(op),
      inputs_(std::move(inputs)),
      outputs_(std::move(outputs)),
      batched_(std::move(batched)),
      dynamic_batch_(dynamic_batch),
      graph_(graph) {}

std::string OnnxOpContext::Temp(absl::string_view suffix) const {
  return absl::StrCat(op_.name(), "/onnx_", suffix);
}

onnx::NodeProto* OnnxOpContext::Node(absl::string_view type, const std::vector<std::string>& inputs,
                                     const std::vector<std::string>& outputs) {
  onnx::NodeProto* node = graph_->add_node();
  node->set_name(nodes_ == 0 ? absl::StrCat(op_.name(), "/", type)
                             : absl::StrCat(op_.name(), "/", type, "_", nodes_));
  ++nodes_;
  node->set_op_type(std::string(type));
  for (const std::string& in : inputs) node->add_input(in);
  for (const std::string& out : outputs) node->add_output(out);
  return node;
}

std::string OnnxOpContext::Int64Constant(absl::string_view suffix,
                                         const std::vector<int64_t>& values) {
  onnx::TensorProto* tensor = graph_->add_initializer();
  tensor->set_name(Temp(suffix));
  tensor->set_data_type(onnx::TensorProto::INT64);
  tensor->add_dims(static_cast<int64_t>(values.size()));
  tensor->mutable_int64_data()->Add(values.begin(), values.end());
  return tensor->name();
}

std::string OnnxOpContext::FloatConstant(absl::string_view suffix, float value) {
  onnx::TensorProto* tensor = graph_->add_initializer();  // a scalar: no dims
  tensor->set_name(Temp(suffix));
  tensor->set_data_type(onnx::TensorProto::FLOAT);
  tensor->add_float_data(value);
  return tensor->name();
}

absl::Status OnnxOpContext::Error(absl::string_view message) const {
  return absl::InvalidArgumentError(
      absl::StrCat("op '", op_.name(), "' (", op_.type(), "): ", message));
}

void SetInts(onnx::NodeProto* node, absl::string_view name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(std::string(name));
  attr->set_type(onnx::AttributeProto::INTS);
  attr->mutable_ints()->Add(values.begin(), values.end());
}

void SetInt(onnx::NodeProto* node, absl::string_view name, int64_t value) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(std::string(name));
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(value);
}

void SetFloat(onnx::NodeProto* node, absl::string_view name, float value) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(std::string(name));
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_f(value);
}

namespace {

// With a symbolic batch, only input 0 may carry it: a weight that depends on the batch (x · xᵀ,
// a filter computed from the images) would mix examples.
absl::Status OnlyFirstBatched(const OnnxOpContext& ctx) {
  for (int i = 1; ctx.dynamic_batch() && i < ctx.num_inputs(); ++i) {
    if (ctx.batched(i)) {
      return ctx.Error(absl::StrCat("input ", i, " depends on the batch; export it with ",
                                    "dynamic_batch = false"));
    }
  }
  return absl::OkStatus();
}

// `type` into Out(0), then a Relu when the op fused one (attr activation "relu").
onnx::NodeProto* NodeWithActivation(OnnxOpContext& ctx, absl::string_view type,
                                    const std::vector<std::string>& inputs) {
  const bool relu = HasAttr(ctx.op(), "activation") && AttrString(ctx.op(), "activation") == "relu";
  onnx::NodeProto* node = ctx.Node(type, inputs, {relu ? ctx.Temp(type) : ctx.Out(0)});
  if (relu) ctx.Node("Relu", {ctx.Temp(type)}, {ctx.Out(0)});
  return node;
}

std::vector<std::string> AllInputs(const OnnxOpContext& ctx) {
  std::vector<std::string> inputs;
  for (int i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.In(i));
  return inputs;
}

// Explicit pads as ONNX lists them: every dimension's begin, then every end. flowrt resolved
// "SAME" (SAME_UPPER or, as OneFlow's SAME_LOWER, more before) into these when recording.
std::vector<int64_t> Pads(const flowrt::OpConf& op) {
  std::vector<int64_t> pads = AttrInts(op, "pad_before");
  for (int64_t p : AttrInts(op, "pad_after")) pads.push_back(p);
  return pads;
}

// conv2d: x (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,) → Conv [→ Relu].
absl::Status ConvertConv2d(OnnxOpContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(OnlyFirstBatched(ctx));
  const Shape& w = ctx.input(1).shape;
  onnx::NodeProto* conv = NodeWithActivation(ctx, "Conv", AllInputs(ctx));
  SetInts(conv, "kernel_shape", {w[2], w[3]});
  SetInts(conv, "strides", AttrInts(ctx.op(), "strides"));
  SetInts(conv, "dilations", AttrInts(ctx.op(), "dilations"));
  SetInts(conv, "pads", Pads(ctx.op()));
  SetInt(conv, "group", AttrInt(ctx.op(), "groups"));
  return absl::OkStatus();
}

// dense: x (N, in), weight (units, in), bias (units,) → Gemm(transB) [→ Relu].
absl::Status ConvertDense(OnnxOpContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(OnlyFirstBatched(ctx));
  SetInt(NodeWithActivation(ctx, "Gemm", AllInputs(ctx)), "transB", 1);
  return absl::OkStatus();
}

// matmul: op(a) · op(b), rank 2 → Gemm(transA, transB) without C.
absl::Status ConvertMatmul(OnnxOpContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(OnlyFirstBatched(ctx));
  const bool ta = AttrBool(ctx.op(), "transpose_a"), tb = AttrBool(ctx.op(), "transpose_b");
  if (ctx.dynamic_batch() && ctx.batched(0) && ta) {
    return ctx.Error("transpose_a sums over the batch; export it with dynamic_batch = false");
  }
  onnx::NodeProto* gemm = ctx.Node("Gemm", {ctx.In(0), ctx.In(1)}, {ctx.Out(0)});
  SetInt(gemm, "transA", ta);
  SetInt(gemm, "transB", tb);
  return absl::OkStatus();
}

// bias_add: x + b along attr axis. ONNX broadcasts from the right, so b (C,) becomes (C, 1, ...)
// with one 1 per dimension after the axis.
absl::Status ConvertBiasAdd(OnnxOpContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(OnlyFirstBatched(ctx));
  const int64_t axis = AttrInt(ctx.op(), "axis"), rank = ctx.input(0).shape.rank();
  if (ctx.dynamic_batch() && ctx.batched(0) && axis == 0) {
    return ctx.Error("axis 0 adds one bias per example; export it with dynamic_batch = false");
  }
  std::string bias = ctx.In(1);
  if (axis != rank - 1) {
    std::vector<int64_t> shape(rank - axis, 1);
    shape[0] = ctx.input(1).shape[0];
    bias = ctx.Temp("bias");
    ctx.Node("Reshape", {ctx.In(1), ctx.Int64Constant("bias_shape", shape)}, {bias});
  }
  ctx.Node("Add", {ctx.In(0), bias}, {ctx.Out(0)});
  return absl::OkStatus();
}

// max_pool2d / avg_pool2d: ksize, strides, explicit pads; the max workspace output is not
// exported (only its gradient reads it). Averages exclude padding, as ONNX's default.
absl::Status ConvertPool(OnnxOpContext& ctx, absl::string_view type) {
  onnx::NodeProto* pool = ctx.Node(type, {ctx.In(0)}, {ctx.Out(0)});
  SetInts(pool, "kernel_shape", AttrInts(ctx.op(), "ksize"));
  SetInts(pool, "strides", AttrInts(ctx.op(), "strides"));
  SetInts(pool, "pads", Pads(ctx.op()));
  return absl::OkStatus();
}
absl::Status ConvertMaxPool(OnnxOpContext& ctx) { return ConvertPool(ctx, "MaxPool"); }
absl::Status ConvertAvgPool(OnnxOpContext& ctx) { return ConvertPool(ctx, "AveragePool"); }

// reshape: to the inferred output shape. A batched input keeps dimension 0 as ONNX's 0 (copy the
// input's), so the file runs at any batch size.
absl::Status ConvertReshape(OnnxOpContext& ctx) {
  std::vector<int64_t> shape = ctx.output(0).shape.dims();
  if (ctx.dynamic_batch() && ctx.batched(0)) {
    if (shape.empty() || shape[0] != ctx.input(0).shape[0]) {
      return ctx.Error(absl::StrCat("reshape from ", ctx.input(0).shape.ToString(), " to ",
                                    ctx.output(0).shape.ToString(),
                                    " changes the batch dimension; export it with "
                                    "dynamic_batch = false"));
    }
    shape[0] = 0;
  }
  ctx.Node("Reshape", {ctx.In(0), ctx.Int64Constant("shape", shape)}, {ctx.Out(0)});
  return absl::OkStatus();
}

// softmax over the last axis: opset 13's Softmax normalizes exactly along `axis`.
absl::Status ConvertSoftmax(OnnxOpContext& ctx) {
  SetInt(ctx.Node("Softmax", {ctx.In(0)}, {ctx.Out(0)}), "axis", -1);
  return absl::OkStatus();
}

// transpose: perm as is; moving the batch away from dimension 0 mixes it into the example.
absl::Status ConvertTranspose(OnnxOpContext& ctx) {
  const std::vector<int64_t> perm = AttrInts(ctx.op(), "perm");
  if (ctx.dynamic_batch() && ctx.batched(0) && perm[0] != 0) {
    return ctx.Error("moves the batch dimension; export it with dynamic_batch = false");
  }
  SetInts(ctx.Node("Transpose", {ctx.In(0)}, {ctx.Out(0)}), "perm", perm);
  return absl::OkStatus();
}

// concat along attr axis (negative counts from the end).
absl::Status ConvertConcat(OnnxOpContext& ctx) {
  int64_t axis = AttrInt(ctx.op(), "axis");
  if (axis < 0) axis += ctx.input(0).shape.rank();
  for (int i = 0; ctx.dynamic_batch() && axis == 0 && i < ctx.num_inputs(); ++i) {
    if (ctx.batched(i)) {
      return ctx.Error("joins along the batch dimension; export it with dynamic_batch = false");
    }
  }
  SetInt(ctx.Node("Concat", AllInputs(ctx), {ctx.Out(0)}), "axis", axis);
  return absl::OkStatus();
}

// Elementwise ops whose ONNX operator has the same inputs: relu → Relu, add → Add, ...
template <const char* kType>
absl::Status ConvertSame(OnnxOpContext& ctx) {
  ctx.Node(kType, AllInputs(ctx), {ctx.Out(0)});
  return absl::OkStatus();
}
constexpr char kRelu[] = "Relu", kSigmoid[] = "Sigmoid", kTanh[] = "Tanh", kExp[] = "Exp",
               kLog[] = "Log", kSqrt[] = "Sqrt", kAbs[] = "Abs", kAdd[] = "Add", kSub[] = "Sub",
               kMul[] = "Mul", kDiv[] = "Div";

absl::Status ConvertSquare(OnnxOpContext& ctx) {
  ctx.Node("Mul", {ctx.In(0), ctx.In(0)}, {ctx.Out(0)});
  return absl::OkStatus();
}

absl::Status ConvertScalarMul(OnnxOpContext& ctx) {
  const std::string scalar = ctx.FloatConstant("scalar", AttrFloat(ctx.op(), "scalar"));
  ctx.Node("Mul", {ctx.In(0), scalar}, {ctx.Out(0)});
  return absl::OkStatus();
}

absl::Status ConvertLeakyRelu(OnnxOpContext& ctx) {
  SetFloat(ctx.Node("LeakyRelu", {ctx.In(0)}, {ctx.Out(0)}), "alpha", AttrFloat(ctx.op(), "alpha"));
  return absl::OkStatus();
}

// clip_by_value: opset 11+ takes the bounds as inputs.
absl::Status ConvertClip(OnnxOpContext& ctx) {
  ctx.Node("Clip",
           {ctx.In(0), ctx.FloatConstant("min", AttrFloat(ctx.op(), "min_value")),
            ctx.FloatConstant("max", AttrFloat(ctx.op(), "max_value"))},
           {ctx.Out(0)});
  return absl::OkStatus();
}

// dropout: only train jobs drop; at inference y = x (its mask output is never read there).
absl::Status ConvertDropout(OnnxOpContext& ctx) {
  ctx.Node("Identity", {ctx.In(0)}, {ctx.Out(0)});
  return absl::OkStatus();
}

}  // namespace

OnnxConverter FindOnnxConverter(absl::string_view type) {
  static const auto* converters = new absl::flat_hash_map<std::string, OnnxConverter>{
      {"conv2d", ConvertConv2d},        {"dense", ConvertDense},
      {"matmul", ConvertMatmul},        {"bias_add", ConvertBiasAdd},
      {"max_pool2d", ConvertMaxPool},   {"avg_pool2d", ConvertAvgPool},
      {"reshape", ConvertReshape},      {"softmax", ConvertSoftmax},
      {"transpose", ConvertTranspose},  {"concat", ConvertConcat},
      {"relu", ConvertSame<kRelu>},     {"sigmoid", ConvertSame<kSigmoid>},
      {"tanh", ConvertSame<kTanh>},     {"exp", ConvertSame<kExp>},
      {"log", ConvertSame<kLog>},       {"sqrt", ConvertSame<kSqrt>},
      {"abs", ConvertSame<kAbs>},       {"add", ConvertSame<kAdd>},
      {"subtract", ConvertSame<kSub>},  {"multiply", ConvertSame<kMul>},
      {"divide", ConvertSame<kDiv>},    {"square", ConvertSquare},
      {"scalar_mul", ConvertScalarMul}, {"leaky_relu", ConvertLeakyRelu},
      {"clip_by_value", ConvertClip},   {"dropout", ConvertDropout},
  };
  auto it = converters->find(type);
  return it == converters->end() ? nullptr : it->second;
}

}  // namespace flow::onnx_export

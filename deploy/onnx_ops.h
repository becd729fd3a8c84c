// Internal to the ONNX export (not installed; includes ONNX's generated onnx-ml.pb.h): how one
// flowrt op becomes ONNX nodes. deploy/onnx_export.cc walks the job and calls the op's converter;
// deploy/onnx_ops.cc holds the converters, one per op type.
//
//   absl::Status ConvertRelu(OnnxOpContext& ctx) {
//     ctx.Node("Relu", {ctx.In(0)}, {ctx.Out(0)});
//     return absl::OkStatus();
//   }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "framework/op_registry.h"
#include "onnx/onnx_pb.h"  // ONNX_API, then onnx-ml.pb.h (ONNX_ML is set by onnx_proto)
#include "proto/job.pb.h"

namespace flow::onnx_export {

// One op being converted: its inputs' shapes, whether each carries the batch in dimension 0, and
// the graph the nodes go into.
class OnnxOpContext {
 public:
  OnnxOpContext(const flowrt::OpConf& op, std::vector<BlobDesc> inputs,
                std::vector<BlobDesc> outputs, std::vector<bool> batched, bool dynamic_batch,
                onnx::GraphProto* graph);

  const flowrt::OpConf& op() const { return op_; }
  const BlobDesc& input(int i) const { return inputs_[i]; }
  const BlobDesc& output(int i) const { return outputs_[i]; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // Input i holds examples of the batch along dimension 0 (it depends on a placeholder).
  bool batched(int i) const { return batched_[i]; }
  bool dynamic_batch() const { return dynamic_batch_; }

  // ONNX value names: a blob keeps its flowrt name ("conv1/y"); helper values are
  // "<op>/onnx_<suffix>".
  std::string In(int i) const { return op_.input(i); }
  std::string Out(int i) const { return op_.output(i); }
  std::string Temp(absl::string_view suffix) const;

  // Appends a node named "<op>/<type>[_k]" and returns it (to add attributes).
  onnx::NodeProto* Node(absl::string_view type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs);
  // A constant as an initializer named Temp(suffix); returns the name.
  std::string Int64Constant(absl::string_view suffix, const std::vector<int64_t>& values);
  std::string FloatConstant(absl::string_view suffix, float value);

  // "op 'pool1' (max_pool2d): <message>" as an InvalidArgument status.
  absl::Status Error(absl::string_view message) const;

 private:
  const flowrt::OpConf& op_;
  std::vector<BlobDesc> inputs_, outputs_;
  std::vector<bool> batched_;
  bool dynamic_batch_;
  onnx::GraphProto* graph_;
  int nodes_ = 0;
};

using OnnxConverter = absl::Status (*)(OnnxOpContext& ctx);

// Null when flowrt has no ONNX mapping for `type`.
OnnxConverter FindOnnxConverter(absl::string_view type);

// Attribute helpers for the converters.
void SetInts(onnx::NodeProto* node, absl::string_view name, const std::vector<int64_t>& values);
void SetInt(onnx::NodeProto* node, absl::string_view name, int64_t value);
void SetFloat(onnx::NodeProto* node, absl::string_view name, float value);

}  // namespace flow::onnx_export

// export_onnx: the compiled predict job's IR (proto/job.proto, as recorded) walked in execution
// order into an onnx::ModelProto (ONNX's own schema, Debian's libonnx-dev), serialized by protobuf.
//   placeholders → graph inputs;  variable ops → initializers (the session's current values);
//   every other op → its converter's nodes (deploy/onnx_ops.cc);  fetches → graph outputs.
#include "deploy/onnx_export.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "checkpoint/file_io.h"
#include "deploy/onnx_ops.h"
#include "framework/op_registry.h"
#include "graph/checkpoint.h"
#include "graph/compiled_job.h"
#include "runtime/shape_inference.h"
#include "runtime/status.h"

namespace flow {
namespace {

using onnx_export::OnnxOpContext;

constexpr int64_t kOpset = 13;

absl::StatusOr<int> OnnxType(DataType dtype, absl::string_view what) {
  switch (dtype) {
    case DataType::kFloat:
      return onnx::TensorProto::FLOAT;
    case DataType::kDouble:
      return onnx::TensorProto::DOUBLE;
    case DataType::kInt8:
      return onnx::TensorProto::INT8;
    case DataType::kInt32:
      return onnx::TensorProto::INT32;
    case DataType::kInt64:
      return onnx::TensorProto::INT64;
    case DataType::kUInt8:
      return onnx::TensorProto::UINT8;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has dtype ", DataTypeName(dtype), ", which ONNX export lacks"));
  }
}

// A graph input or output: name, dtype and shape, dimension 0 symbolic ("N") if `batched`.
absl::Status AddValueInfo(const std::string& name, const BlobDesc& desc, bool batched,
                          google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list) {
  FLOWRT_ASSIGN_OR_RETURN(int type, OnnxType(desc.dtype, absl::StrCat("blob '", name, "'")));
  onnx::ValueInfoProto* info = list->Add();
  info->set_name(name);
  onnx::TypeProto::Tensor* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  for (int i = 0; i < desc.shape.rank(); ++i) {
    onnx::TensorShapeProto::Dimension* dim = tensor->mutable_shape()->add_dim();
    if (i == 0 && batched) {
      dim->set_dim_param("N");
    } else {
      dim->set_dim_value(desc.shape[i]);
    }
  }
  return absl::OkStatus();
}

// A variable's value as an initializer named like the variable op's output blob.
absl::Status AddInitializer(const std::string& name, const Tensor& value, onnx::GraphProto* graph) {
  if (value.dtype() != DataType::kFloat) {
    return absl::InvalidArgumentError(absl::StrCat("variable blob '", name, "' has dtype ",
                                                   DataTypeName(value.dtype()),
                                                   "; ONNX export writes float32 variables only"));
  }
  onnx::TensorProto* tensor = graph->add_initializer();
  tensor->set_name(name);
  tensor->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : value.shape().dims()) tensor->add_dims(d);
  const float* data = value.data<float>();
  tensor->mutable_float_data()->Add(data, data + value.num_elements());
  return absl::OkStatus();
}

// Graph inputs and outputs get the user's names, blobs keep flowrt's; onnxruntime's graph
// optimizer removes these nodes.
void AddIdentity(const std::string& from, const std::string& to, onnx::GraphProto* graph) {
  onnx::NodeProto* node = graph->add_node();
  node->set_name(absl::StrCat(to, "/Identity"));
  node->set_op_type("Identity");
  node->add_input(from);
  node->add_output(to);
}

absl::StatusOr<onnx::ModelProto> BuildModel(JobFunction& job, const OnnxExportOptions& options) {
  FLOWRT_RETURN_IF_ERROR(job.Compile());
  const flowrt::JobConf& conf = CompiledJob::Job(job);
  if (conf.job_type() != flowrt::kPredict) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job '", job.name(), "' is a train job; export the predict job of the same body"));
  }
  if (!options.output_names.empty() &&
      options.output_names.size() != static_cast<size_t>(conf.fetch_size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("job '", job.name(), "' returns ", conf.fetch_size(), " blobs but ",
                     options.output_names.size(), " output_names were given"));
  }
  // The blobs of the job as recorded, not as it runs: the executor's graph rewrites fuse ops
  // (graph/passes/conv2d_into_max_pool2d.h) that ONNX expresses as the ops they replace.
  FLOWRT_ASSIGN_OR_RETURN(const auto descs, InferBlobDescs(conf, FindKernelDef));
  auto desc = [&](const std::string& blob) { return descs.at(blob); };

  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("flowrt");
  model.set_doc_string(options.doc);
  model.add_opset_import()->set_version(kOpset);  // the default domain, ai.onnx
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name(job.name());

  const std::string where = absl::StrCat("job '", job.name(), "': ");
  std::set<std::string> batched;  // blobs that depend on a placeholder: dimension 0 is the batch
  for (const flowrt::OpConf& op : conf.op()) {
    if (op.type() == "input") {  // named as the Placeholder; its blob is "<name>/out"
      batched.insert(op.output(0));
      FLOWRT_RETURN_IF_ERROR(
          checkpoint::Prefixed(AddValueInfo(op.name(), desc(op.output(0)), options.dynamic_batch,
                                            graph->mutable_input()),
                               where));
      AddIdentity(op.name(), op.output(0), graph);
      continue;
    }
    if (op.type() == "variable") {
      const Tensor* value = job.session().FindVariable(op.name());
      FLOWRT_CHECK(value != nullptr) << "variable '" << op.name() << "' has no storage";
      FLOWRT_RETURN_IF_ERROR(
          checkpoint::Prefixed(AddInitializer(op.output(0), *value, graph), where));
      continue;
    }
    const onnx_export::OnnxConverter convert = onnx_export::FindOnnxConverter(op.type());
    if (convert == nullptr) {
      return absl::UnimplementedError(absl::StrCat(where, "op '", op.name(), "' of type ",
                                                   op.type(),
                                                   " has no ONNX mapping (deploy/onnx_ops.cc)"));
    }
    std::vector<BlobDesc> inputs, outputs;
    std::vector<bool> input_batched;
    bool any_batched = false;
    for (const std::string& in : op.input()) {
      inputs.push_back(desc(in));
      input_batched.push_back(batched.contains(in));
      any_batched = any_batched || input_batched.back();
    }
    for (const std::string& out : op.output()) outputs.push_back(desc(out));
    OnnxOpContext ctx(op, std::move(inputs), std::move(outputs), std::move(input_batched),
                      options.dynamic_batch, graph);
    FLOWRT_RETURN_IF_ERROR(checkpoint::Prefixed(convert(ctx), where));
    if (any_batched) batched.insert(op.output().begin(), op.output().end());
  }
  for (int i = 0; i < conf.fetch_size(); ++i) {
    // An Identity names the output independently of the blob (one blob may be fetched twice).
    const std::string name =
        options.output_names.empty() ? absl::StrCat("output_", i) : options.output_names[i];
    AddIdentity(conf.fetch(i), name, graph);
    FLOWRT_RETURN_IF_ERROR(AddValueInfo(name, desc(conf.fetch(i)),
                                        options.dynamic_batch && batched.contains(conf.fetch(i)),
                                        graph->mutable_output()));
  }
  return model;
}

}  // namespace

absl::Status export_onnx(JobFunction& job, const std::string& path,
                         const OnnxExportOptions& options) {
  FLOWRT_ASSIGN_OR_RETURN(onnx::ModelProto model, BuildModel(job, options));
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {  // protobuf's 2 GiB limit
    return absl::ResourceExhaustedError(absl::StrCat(
        "job '", job.name(), "': the ONNX model is too large for one protobuf (2 GiB)"));
  }
  return checkpoint::WriteFileAtomically(path, bytes);
}

namespace {

// A session holding `body` recorded for batch 1 of `example`, as Predictor::Load makes it; `load`
// then fills its variables.
struct BodyJob {
  BodyJob(const Predictor::Body& body, const Placeholder& example)
      : session({.threads = 1}),
        job(global_function(
            session, "export", JobType::kPredict, [&body](Blob input) { return body(input); },
            Placeholder(BatchOf(1, example.shape), example.dtype, example.name))) {}
  static Shape BatchOf(int64_t n, const Shape& example) {
    std::vector<int64_t> dims = {n};
    for (int64_t d : example.dims()) dims.push_back(d);
    return Shape(std::move(dims));
  }
  absl::Status CheckLoaded(const LoadReport& report, absl::string_view source) const {
    if (report.missing.empty()) return absl::OkStatus();
    return absl::NotFoundError(absl::StrCat(source, " does not fit the predict job: it lacks ",
                                            absl::StrJoin(report.missing, ", ")));
  }
  Session session;
  JobFunction job;
};

}  // namespace

absl::Status export_onnx(const std::string& snapshot_dir, const Predictor::Body& body,
                         const Placeholder& example, const std::string& path,
                         const OnnxExportOptions& options) {
  BodyJob exported(body, example);
  FLOWRT_RETURN_IF_ERROR(exported.job.Compile());
  FLOWRT_ASSIGN_OR_RETURN(checkpoint::Snapshot snapshot, checkpoint::get(snapshot_dir));
  FLOWRT_ASSIGN_OR_RETURN(LoadReport report, load_variables(snapshot, true, exported.session));
  FLOWRT_RETURN_IF_ERROR(exported.CheckLoaded(report, absl::StrCat("snapshot ", snapshot_dir)));
  return export_onnx(exported.job, path, options);
}

absl::Status export_onnx(const std::map<std::string, Tensor>& variables,
                         const Predictor::Body& body, const Placeholder& example,
                         const std::string& path, const OnnxExportOptions& options) {
  BodyJob exported(body, example);
  FLOWRT_RETURN_IF_ERROR(exported.job.Compile());
  FLOWRT_ASSIGN_OR_RETURN(LoadReport report, exported.session.load_variables(variables, true));
  FLOWRT_RETURN_IF_ERROR(exported.CheckLoaded(report, "the given variables"));
  return export_onnx(exported.job, path, options);
}

}  // namespace flow

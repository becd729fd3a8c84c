#include "framework/job_builder.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/attr.h"
#include "runtime/status.h"

namespace flow {
namespace {

thread_local JobBuilder* current_builder = nullptr;

Shape ShapeFromProto(const oneflow::ShapeProto& proto) {
  return Shape(std::vector<int64_t>(proto.dim().begin(), proto.dim().end()));
}

}  // namespace

JobBuilder::JobBuilder(std::string job_name, flowrt::JobType job_type) {
  static std::atomic<uint64_t> last_id{0};
  id_ = ++last_id;
  job_.set_name(std::move(job_name));
  job_.set_job_type(job_type);
}

JobBuilder* JobBuilder::Current() { return current_builder; }

JobBuilder::Activation::Activation(JobBuilder* builder) : previous_(current_builder) {
  current_builder = builder;
}
JobBuilder::Activation::~Activation() { current_builder = previous_; }

Blob JobBuilder::Fail(absl::Status error) {
  FLOWRT_CHECK(!error.ok());
  if (status_.ok()) {
    status_ =
        absl::Status(error.code(), absl::StrCat("job '", job_.name(), "': ", error.message()));
  }
  return Blob();
}

std::string JobBuilder::NamespacePrefix() const {
  if (namespaces_.empty()) return "";
  return absl::StrCat(absl::StrJoin(namespaces_, "-"), "-");
}

std::string JobBuilder::UniqueOpName(absl::string_view base) {
  const std::string prefixed = absl::StrCat(NamespacePrefix(), base);
  std::string name = prefixed;
  for (int i = 1; op_names_.contains(name); ++i) name = absl::StrCat(prefixed, "_", i);
  return name;
}

const BlobDesc* JobBuilder::FindBlob(const std::string& name) const {
  auto it = blobs_.find(name);
  return it == blobs_.end() ? nullptr : &it->second;
}

Blob JobBuilder::GetBlob(const std::string& name) {
  const BlobDesc* desc = FindBlob(name);
  FLOWRT_CHECK(desc != nullptr) << "no blob " << name;
  return Blob(this, id_, name, desc->shape, desc->dtype);
}

std::vector<Blob> JobBuilder::AddOp(flowrt::OpConf op) {
  const OpSchema* schema = FindOp(op.type());
  std::vector<Blob> failed(schema ? schema->outputs.size() : 1);
  if (!status_.ok()) return failed;
  if (schema == nullptr) {
    Fail(absl::NotFoundError(
        absl::StrCat("op '", op.name(), "': unknown op type '", op.type(), "'")));
    return failed;
  }
  if (op_names_.contains(op.name())) {
    Fail(absl::AlreadyExistsError(absl::StrCat("op name '", op.name(), "' is used twice")));
    return failed;
  }
  const int declared = static_cast<int>(schema->inputs.size());
  const int min_inputs = declared - schema->optional_inputs;
  if (op.input_size() < min_inputs || (!schema->variadic_input && op.input_size() > declared)) {
    const std::string takes = schema->variadic_input ? absl::StrCat(min_inputs, " or more")
                                                     : absl::StrCat(min_inputs, "..", declared);
    Fail(absl::InvalidArgumentError(absl::StrCat("op '", op.name(), "' (", op.type(), ") takes ",
                                                 takes, " inputs, got ", op.input_size())));
    return failed;
  }
  ShapeContext ctx{op, {}};
  for (const std::string& input : op.input()) {
    const BlobDesc* desc = FindBlob(input);
    FLOWRT_CHECK(desc != nullptr) << "op " << op.name() << " reads unknown blob " << input;
    ctx.inputs.push_back(*desc);
  }
  absl::StatusOr<std::vector<BlobDesc>> outputs = schema->shape_fn(ctx);
  if (!outputs.ok()) {
    Fail(outputs.status());
    return failed;
  }
  FLOWRT_CHECK_EQ(outputs->size(), schema->outputs.size()) << op.type();
  std::vector<Blob> blobs;
  op.clear_output();
  for (size_t i = 0; i < outputs->size(); ++i) {
    std::string name = absl::StrCat(op.name(), "/", schema->outputs[i]);
    op.add_output(name);
    blobs_[name] = (*outputs)[i];
    blobs.push_back(Blob(this, id_, name, (*outputs)[i].shape, (*outputs)[i].dtype));
  }
  op_names_.insert(op.name());
  *job_.add_op() = std::move(op);
  return blobs;
}

Blob JobBuilder::AddPlaceholder(const std::string& name, const Shape& shape, DataType dtype) {
  flowrt::PlaceholderConf* placeholder = job_.add_placeholder();
  placeholder->set_name(name);
  for (int64_t d : shape.dims()) placeholder->mutable_shape()->add_dim(d);
  placeholder->set_data_type(static_cast<oneflow::DataType>(dtype));
  flowrt::OpConf op;
  op.set_name(name);
  op.set_type("input");
  (*op.mutable_attr())["shape"] = MakeAttr(shape.dims());
  (*op.mutable_attr())["dtype"] = MakeAttr(dtype);
  std::vector<Blob> out = AddOp(std::move(op));
  return out[0];
}

const flowrt::VariableConf* JobBuilder::FindVariableConf(const std::string& name) const {
  for (const flowrt::VariableConf& conf : job_.variable()) {
    if (conf.name() == name) return &conf;
  }
  return nullptr;
}

Blob JobBuilder::GetOrCreateVariable(const flowrt::VariableConf& conf, bool reuse) {
  if (!status_.ok()) return Blob();
  const Shape shape = ShapeFromProto(conf.shape());
  const DataType dtype = static_cast<DataType>(conf.data_type());
  auto it = variables_.find(conf.name());
  if (it != variables_.end()) {
    if (!reuse) {
      return Fail(absl::AlreadyExistsError(
          absl::StrCat("variable '", conf.name(),
                       "' already exists; two layers with the same name? "
                       "(getting the same variable is not allowed when reuse is false)")));
    }
    if (it->second.shape() != shape || it->second.dtype() != dtype) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("variable '", conf.name(), "' requested with shape ", shape.ToString(), " ",
                       DataTypeName(dtype), " but it exists with shape ",
                       it->second.shape().ToString(), " ", DataTypeName(it->second.dtype()))));
    }
    return it->second;
  }
  if (ItemSize(dtype) == 0) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("variable '", conf.name(), "': unsupported dtype ", conf.data_type())));
  }
  if (!shape.CheckedNumElements().has_value()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("variable '", conf.name(), "': invalid shape ", shape.ToString())));
  }
  if (op_names_.contains(conf.name())) {
    return Fail(absl::AlreadyExistsError(
        absl::StrCat("variable '", conf.name(), "': an op of that name already exists")));
  }
  flowrt::OpConf op;
  op.set_name(conf.name());
  op.set_type("variable");
  (*op.mutable_attr())["shape"] = MakeAttr(shape.dims());
  (*op.mutable_attr())["dtype"] = MakeAttr(dtype);
  std::vector<Blob> out = AddOp(std::move(op));
  if (!out[0].ok()) return out[0];
  *job_.add_variable() = conf;
  variables_.emplace(conf.name(), out[0]);
  return out[0];
}

OpBuilder::OpBuilder(absl::string_view type) : builder_(JobBuilder::Current()) {
  op_.set_type(std::string(type));
  name_ = std::string(type);
}

OpBuilder& OpBuilder::Name(absl::string_view name) {
  name_ = std::string(name);
  exact_name_ = false;
  return *this;
}

OpBuilder& OpBuilder::ExactName(absl::string_view name) {
  name_ = std::string(name);
  exact_name_ = true;
  return *this;
}

OpBuilder& OpBuilder::Input(const Blob& blob) {
  if (!blob.ok()) {
    failed_input_ = true;
    if (input_error_.ok()) input_error_ = blob.error();
    return *this;
  }
  // Outside a body (no builder) Build fails anyway; the blob's own builder may be gone.
  if (builder_ != nullptr && !builder_->Owns(blob) && input_error_.ok()) {
    // The blob's job may be gone: name only what is certain to be alive.
    input_error_ = absl::InvalidArgumentError(
        absl::StrCat("op '", name_, "' (", op_.type(), ") in job '", builder_->job_name(),
                     "': input blob '", blob.name(),
                     "' belongs to another job (a blob is valid only in the global_function "
                     "body that made it)"));
  }
  op_.add_input(blob.name());
  return *this;
}

#define FLOWRT_OP_BUILDER_ATTR(T)                           \
  OpBuilder& OpBuilder::Attr(absl::string_view name, T v) { \
    (*op_.mutable_attr())[std::string(name)] = MakeAttr(v); \
    return *this;                                           \
  }
FLOWRT_OP_BUILDER_ATTR(int64_t)
FLOWRT_OP_BUILDER_ATTR(float)
FLOWRT_OP_BUILDER_ATTR(bool)
FLOWRT_OP_BUILDER_ATTR(absl::string_view)
FLOWRT_OP_BUILDER_ATTR(const std::vector<int64_t>&)
FLOWRT_OP_BUILDER_ATTR(const std::vector<float>&)
FLOWRT_OP_BUILDER_ATTR(DataType)
#undef FLOWRT_OP_BUILDER_ATTR

std::vector<Blob> OpBuilder::Build() {
  const OpSchema* schema = FindOp(op_.type());
  const size_t num_outputs = schema ? schema->outputs.size() : 1;
  if (builder_ == nullptr) {
    // No job to keep the error: the failed blobs carry it, and the job they are fed to records it.
    absl::Status error =
        !input_error_.ok()
            ? input_error_
            : absl::FailedPreconditionError(absl::StrCat("op '", name_, "' (", op_.type(),
                                                         ") used outside a global_function body"));
    return std::vector<Blob>(num_outputs, Blob(error));
  }
  if (!input_error_.ok()) builder_->Fail(input_error_);
  if (failed_input_ || !builder_->status().ok()) return std::vector<Blob>(num_outputs);
  op_.set_name(exact_name_ ? name_ : builder_->UniqueOpName(name_));
  return builder_->AddOp(std::move(op_));
}

Blob OpBuilder::Build1() {
  std::vector<Blob> outputs = Build();
  FLOWRT_CHECK_EQ(outputs.size(), 1u) << op_.type();
  return outputs[0];
}

}  // namespace flow

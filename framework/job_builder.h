// Records one job: the ops a global_function body emits, with build-time shape inference, the
// current name scope, the variables it declared, and the first error (sticky).
//
// Job bodies never see this class; layers and ops reach it through JobBuilder::Current() or
// through their input blobs. Tests and passes use it directly:
//
//   JobBuilder builder("job", flowrt::kPredict);
//   JobBuilder::Activation active(&builder);
//   Blob x = builder.AddPlaceholder("x", Shape({2, 3}), kFloat);
//   Blob y = flow::nn::relu(x);
//   FLOWRT_RETURN_IF_ERROR(builder.status());
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "framework/blob.h"
#include "framework/op_registry.h"
#include "proto/job.pb.h"

namespace flow {

class JobBuilder {
 public:
  JobBuilder(std::string job_name, flowrt::JobType job_type);
  JobBuilder(const JobBuilder&) = delete;
  JobBuilder& operator=(const JobBuilder&) = delete;

  // The builder whose job body is running on this thread, or null.
  static JobBuilder* Current();
  // Makes `builder` current for this thread while alive (restores the previous one after).
  class Activation {
   public:
    explicit Activation(JobBuilder* builder);
    ~Activation();

   private:
    JobBuilder* previous_;
  };

  const std::string& job_name() const { return job_.name(); }
  bool is_train() const { return job_.job_type() == flowrt::kTrain; }
  const flowrt::JobConf& job() const { return job_; }
  flowrt::JobConf* mutable_job() { return &job_; }

  // Whether `blob` was made by this recording (not by another job, or an earlier builder).
  bool Owns(const Blob& blob) const { return blob.ok() && blob.job_id_ == id_; }

  // The first error recorded while building, OK otherwise.
  const absl::Status& status() const { return status_; }
  // Keeps `error` if it is the first. Returns a failed blob for convenience.
  Blob Fail(absl::Status error);

  // Infers the op's outputs, appends it and returns one blob per output. `op.name` must be set
  // (see UniqueOpName); inputs are blob names. On error (unknown op, bad shapes, a failed input)
  // records it and returns failed blobs, leaving the job unchanged.
  std::vector<Blob> AddOp(flowrt::OpConf op);

  // Adds a placeholder op "<name>" of type "input" whose blob the executor feeds.
  Blob AddPlaceholder(const std::string& name, const Shape& shape, DataType dtype);

  // Declares a variable (see get_variable): returns the existing blob for a known name when
  // `reuse` and shape and dtype agree; an error naming both shapes/dtypes otherwise.
  Blob GetOrCreateVariable(const flowrt::VariableConf& conf, bool reuse);
  // The variable blobs declared so far, by name.
  const std::map<std::string, Blob>& variables() const { return variables_; }
  const flowrt::VariableConf* FindVariableConf(const std::string& name) const;

  // Name scope: Namespace("conv1") makes names "conv1-<name>"; nested scopes join with '-'.
  void PushNamespace(const std::string& name) { namespaces_.push_back(name); }
  void PopNamespace() { namespaces_.pop_back(); }
  std::string NamespacePrefix() const;
  // `base` with the namespace prefix, made unique among the job's ops ("relu", "relu_1", ...).
  std::string UniqueOpName(absl::string_view base);

  // The desc of a blob by logical name, or null.
  const BlobDesc* FindBlob(const std::string& name) const;
  Blob GetBlob(const std::string& name);

  // Set by optimizer.minimize(); the autodiff/optimizer ops are already in the job by then.
  bool minimized() const { return !job_.loss().empty(); }

  // flow::watch / watch_diff (graph/watch.h): a blob whose value, or gradient, a callback gets
  // after every run. The compiled job fetches `fetched` for it: the blob itself, or the gradient
  // blob minimize() emitted for it (empty until then).
  struct Watch {
    Blob blob;
    bool diff = false;
    std::string fetched;
    std::function<void(const Tensor&)> callback;
  };
  std::vector<Watch>& watches() { return watches_; }

  // Data-parallel ranks the job is compiled for (graph/data_parallel.h): the placeholders hold
  // this rank's 1/num_ranks of the batch and minimize() averages the gradients over the ranks.
  int num_ranks() const { return num_ranks_; }
  void set_num_ranks(int n) { num_ranks_ = n; }

 private:
  int num_ranks_ = 1;
  uint64_t id_;  // unique in the process
  flowrt::JobConf job_;
  absl::Status status_;
  std::vector<std::string> namespaces_;
  std::set<std::string> op_names_;
  std::map<std::string, BlobDesc> blobs_;
  std::map<std::string, Blob> variables_;
  std::vector<Watch> watches_;
};

// Builds one op into the current job (or the job of its first input):
//
//   Blob y = OpBuilder("conv2d").Name("conv1").Input(x).Input(w)
//                .Attr("strides", std::vector<int64_t>{1, 1}).Attr("padding", "SAME").Build1();
class OpBuilder {
 public:
  explicit OpBuilder(absl::string_view type);
  // The op's name before namespace prefix and de-duplication; defaults to the op type.
  OpBuilder& Name(absl::string_view name);
  // Uses `name` verbatim (already prefixed and unique, e.g. a layer's own name).
  OpBuilder& ExactName(absl::string_view name);
  OpBuilder& Input(const Blob& blob);
  OpBuilder& Attr(absl::string_view name, int64_t v);
  OpBuilder& Attr(absl::string_view name, int v) { return Attr(name, static_cast<int64_t>(v)); }
  OpBuilder& Attr(absl::string_view name, float v);
  OpBuilder& Attr(absl::string_view name, double v) { return Attr(name, static_cast<float>(v)); }
  OpBuilder& Attr(absl::string_view name, bool v);
  OpBuilder& Attr(absl::string_view name, absl::string_view v);
  OpBuilder& Attr(absl::string_view name, const char* v) {
    return Attr(name, absl::string_view(v));
  }
  OpBuilder& Attr(absl::string_view name, const std::vector<int64_t>& v);
  OpBuilder& Attr(absl::string_view name, const std::vector<float>& v);
  OpBuilder& Attr(absl::string_view name, DataType v);

  std::vector<Blob> Build();
  Blob Build1();  // for single-output ops

 private:
  JobBuilder* builder_ = nullptr;
  bool failed_input_ = false;
  // The first input error this op must record: a blob of another job, or the error a failed
  // blob built outside any job carries.
  absl::Status input_error_;
  bool exact_name_ = false;
  std::string name_;
  flowrt::OpConf op_;
};

}  // namespace flow

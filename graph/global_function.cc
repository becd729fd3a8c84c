#include "graph/global_function.h"

#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "graph/initializer_proto.h"
#include "graph/passes/relu_grad_before_max_pool_grad.h"
#include "graph/watch.h"
#include "runtime/executor.h"
#include "runtime/random.h"
#include "runtime/status.h"

namespace flow {
namespace {

// The variables `job` declares that `session` does not have yet, initialized: from the
// variable's random_seed, else from (session seed, name), so adding a layer never changes
// another layer's values. Variables the session has must agree in shape and dtype.
absl::StatusOr<std::map<std::string, Tensor>> NewVariables(Session& session,
                                                           const flowrt::JobConf& job) {
  std::map<std::string, Tensor> created;
  for (const flowrt::VariableConf& conf : job.variable()) {
    const Shape shape(std::vector<int64_t>(conf.shape().dim().begin(), conf.shape().dim().end()));
    const DataType dtype = static_cast<DataType>(conf.data_type());
    if (const Tensor* existing = session.FindVariable(conf.name()); existing != nullptr) {
      if (existing->shape() != shape || existing->dtype() != dtype) {
        return absl::InvalidArgumentError(absl::StrCat(
            "job '", job.name(), "': variable '", conf.name(), "' is declared with shape ",
            shape.ToString(), " ", DataTypeName(dtype), " but another job declared it with shape ",
            existing->shape().ToString(), " ", DataTypeName(existing->dtype())));
      }
      continue;
    }
    const uint64_t seed = conf.has_random_seed()
                              ? static_cast<uint64_t>(conf.random_seed())
                              : CombineSeeds(session.options().seed, StableHash64(conf.name()));
    Tensor value(shape, dtype);
    absl::Status status =
        InitializeTensor(InitializerProto::Wrap(conf.initializer()), seed, &value);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("job '", job.name(), "': variable '",
                                                      conf.name(), "': ", status.message()));
    }
    created.emplace(conf.name(), std::move(value));
  }
  return created;
}

}  // namespace

struct JobFunction::State {
  Session* session;
  std::string name;
  JobType type;
  Body body;
  std::vector<Placeholder> placeholders;
  flowrt::JobConf job;
  std::unique_ptr<Executor> executor;
  // The body's outputs are fetches [0, num_outputs); watched blobs follow, one per callback.
  int num_outputs = 0;
  std::vector<WatchCallback> watch_callbacks;
};

JobFunction::JobFunction(Session* session, std::string name, JobType type, Body body,
                         std::vector<Placeholder> placeholders)
    : state_(std::make_shared<State>()) {
  state_->session = session;
  state_->name = std::move(name);
  state_->type = type;
  state_->body = std::move(body);
  state_->placeholders = std::move(placeholders);
  std::weak_ptr<State> weak = state_;
  session->DefineJob([weak]() -> absl::Status {
    std::shared_ptr<State> state = weak.lock();
    if (state == nullptr) return absl::OkStatus();  // the job function is gone
    absl::Status status = Compile(*state);
    if (status.ok()) return status;
    return absl::Status(status.code(), absl::StrCat("job '", state->name, "': ", status.message()));
  });
}

bool JobFunction::compiled() const { return state_->executor != nullptr; }
const std::string& JobFunction::name() const { return state_->name; }
Session& JobFunction::session() const { return *state_->session; }

const flowrt::JobConf& CompiledJob::Job(const JobFunction& function) {
  FLOWRT_CHECK(function.compiled()) << "job '" << function.name() << "' is not compiled";
  return function.state_->job;
}

Executor& CompiledJob::GetExecutor(const JobFunction& function) {
  FLOWRT_CHECK(function.compiled()) << "job '" << function.name() << "' is not compiled";
  return *function.state_->executor;
}

absl::Status JobFunction::Compile() { return Compile(*state_); }

absl::Status JobFunction::Compile(State& s) {
  if (s.executor != nullptr) return absl::OkStatus();
  JobBuilder builder(s.name, s.type == JobType::kTrain ? flowrt::kTrain : flowrt::kPredict);
  {
    JobBuilder::Activation active(&builder);
    std::vector<Blob> inputs;
    for (size_t i = 0; i < s.placeholders.size(); ++i) {
      const Placeholder& p = s.placeholders[i];
      inputs.push_back(builder.AddPlaceholder(p.name.empty() ? absl::StrCat("input_", i) : p.name,
                                              p.shape, p.dtype));
    }
    std::vector<Blob> outputs = s.body(inputs);
    FLOWRT_RETURN_IF_ERROR(builder.status());
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Blob& out = outputs[i];
      if (!out.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("job '", s.name, "': output ", i, " of the body is a failed blob: ",
                         out.error().ok() ? "no error recorded" : out.error().ToString()));
      }
      if (!builder.Owns(out)) {
        return absl::InvalidArgumentError(absl::StrCat("job '", s.name, "': output ", i,
                                                       " of the body, blob '", out.name(),
                                                       "', belongs to another job"));
      }
      builder.mutable_job()->add_fetch(out.name());
    }
    s.num_outputs = static_cast<int>(outputs.size());
    for (JobBuilder::Watch& w : builder.watches()) {
      if (w.fetched.empty()) {  // watch_diff in a job that never ran minimize
        return absl::FailedPreconditionError(
            absl::StrCat("job '", s.name, "': watch_diff(blob '", w.blob.name(),
                         "') needs a train job whose body calls minimize(loss) after it"));
      }
      builder.mutable_job()->add_fetch(w.fetched);
      s.watch_callbacks.push_back(std::move(w.callback));
    }
  }
  if (s.type == JobType::kTrain && !builder.minimized()) {
    return absl::FailedPreconditionError(
        absl::StrCat("train job '", s.name, "' never called an optimizer's minimize(loss)"));
  }
  Session* session = s.session;
  if (session->HasJob(s.name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a job named '", s.name, "' already exists in this session"));
  }
  FLOWRT_ASSIGN_OR_RETURN(auto new_variables, NewVariables(*session, builder.job()));
  session->AddJob(s.name, std::move(new_variables));
  ExecutorOptions options{session->options().reuse_memory, session->options().threads,
                          session->options().seed};
  // The graph's exact compile-time rewrites (graph/passes/), then the executor binds kernels and
  // buffers to the job as rewritten.
  flowrt::JobConf runnable = builder.job();
  MoveReluGradBeforeMaxPoolGrad(&runnable);
  FLOWRT_ASSIGN_OR_RETURN(
      s.executor,
      Executor::Create(
          runnable, FindKernelDef,
          [session](const std::string& name) { return session->FindVariable(name); }, options));
  s.job = builder.job();
  return absl::OkStatus();
}

absl::Status JobFunction::RunInPlace(absl::Span<const Tensor> feeds) {
  FLOWRT_RETURN_IF_ERROR(Compile());
  FLOWRT_RETURN_IF_ERROR(state_->executor->Run(feeds));
  for (size_t i = 0; i < state_->watch_callbacks.size(); ++i) {
    state_->watch_callbacks[i](state_->executor->fetch(state_->num_outputs + static_cast<int>(i)));
  }
  return absl::OkStatus();
}

const Tensor& JobFunction::fetch(int i) const { return CompiledJob::GetExecutor(*this).fetch(i); }

absl::StatusOr<std::vector<Tensor>> JobFunction::Run(absl::Span<const Tensor> feeds) {
  FLOWRT_RETURN_IF_ERROR(RunInPlace(feeds));
  std::vector<Tensor> results;
  for (int i = 0; i < state_->num_outputs; ++i) {
    results.push_back(state_->executor->fetch(i).Clone());
  }
  return results;
}

}  // namespace flow

#include "graph/global_function.h"

#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"
#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "graph/data_parallel.h"
#include "graph/initializer_proto.h"
#include "graph/passes/exact_rewrites.h"
#include "graph/watch.h"
#include "runtime/communicator.h"
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
  // Data-parallel (graph/data_parallel.h): the job is compiled for 1/ranks of every placeholder's
  // axis 0; `global_shapes` are the placeholders as declared, `local_feeds` this rank's rows of
  // them, and each split fetch is all-gathered into `gathered` (else empty).
  int ranks = 1;
  std::vector<Shape> global_shapes;
  std::vector<Shape> local_shapes;  // global_shapes with axis 0 divided by the ranks
  std::vector<Tensor> local_feeds;
  std::vector<bool> split_fetches;
  std::vector<std::string> created_variables;  // by this job's compilation
  std::vector<Tensor> gathered;
};

namespace {

// The placeholder as this rank compiles it: 1/ranks of axis 0 (a scalar is fed whole).
absl::StatusOr<Shape> LocalShape(const std::string& job, const std::string& placeholder,
                                 const Shape& global, int ranks) {
  if (ranks == 1 || global.rank() == 0) return global;
  if (global[0] % ranks != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("job '", job, "': placeholder '", placeholder, "' has global batch ",
                     global[0], " (shape ", global.ToString(), "), which ", ranks,
                     " ranks cannot split evenly; use a batch divisible by the number of ranks"));
  }
  std::vector<int64_t> dims = global.dims();
  dims[0] /= ranks;
  return Shape(std::move(dims));
}

}  // namespace

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
  Communicator& world = Communicator::World();
  s.ranks = s.session->options().data_parallel ? world.size() : 1;
  if (s.ranks == 1) return CompileOnRank(s);
  // Every rank takes part in the same collectives whatever happens locally, so a job one rank
  // cannot compile fails every rank with that rank's message instead of leaving the others
  // waiting in the hash check.
  FLOWRT_RETURN_IF_ERROR(world.Agree(CompileOnRank(s)));
  FLOWRT_RETURN_IF_ERROR(CheckSameOnEveryRank(JobHash(s.job, s.session->options().seed),
                                              absl::StrCat("the compiled job '", s.name, "'")));
  // Replicated variables: rank 0's initial values everywhere (they are computed from seeds and
  // equal already; the broadcast makes that a guarantee rather than an assumption).
  std::map<std::string, Tensor> created;
  for (const std::string& name : s.created_variables) {
    created.emplace(name, *s.session->FindVariable(name));  // a view of the session's storage
  }
  BroadcastFromRankZero(created);
  return absl::OkStatus();
}

absl::Status JobFunction::CompileOnRank(State& s) {
  JobBuilder builder(s.name, s.type == JobType::kTrain ? flowrt::kTrain : flowrt::kPredict);
  builder.set_num_ranks(s.ranks);
  s.global_shapes.clear();
  s.local_shapes.clear();
  {
    JobBuilder::Activation active(&builder);
    std::vector<Blob> inputs;
    for (size_t i = 0; i < s.placeholders.size(); ++i) {
      const Placeholder& p = s.placeholders[i];
      const std::string name = p.name.empty() ? absl::StrCat("input_", i) : p.name;
      FLOWRT_ASSIGN_OR_RETURN(Shape shape, LocalShape(s.name, name, p.shape, s.ranks));
      inputs.push_back(builder.AddPlaceholder(name, shape, p.dtype));
      s.global_shapes.push_back(p.shape);
      s.local_shapes.push_back(shape);
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
  s.created_variables.clear();
  for (const auto& [name, value] : new_variables) s.created_variables.push_back(name);
  session->AddJob(s.name, std::move(new_variables));
  ExecutorOptions options{session->options().reuse_memory, session->options().threads,
                          session->options().seed};
  options.shard = s.ranks > 1 ? Communicator::World().rank() : 0;
  options.adapt_threads = session->options().adapt_threads;
  // The graph's exact compile-time rewrites (graph/passes/), then the executor binds kernels and
  // buffers to the job as rewritten.
  flowrt::JobConf runnable = builder.job();
  RunExactRewrites(session->options().rewrites, &runnable);
  FLOWRT_ASSIGN_OR_RETURN(
      s.executor,
      Executor::Create(
          runnable, FindKernelDef,
          [session](const std::string& name) { return session->FindVariable(name); }, options));
  s.job = builder.job();
  if (s.ranks > 1) {
    s.split_fetches = SplitFetches(s.job);
    for (int i = 0; i < s.executor->num_fetches(); ++i) {
      const Tensor& local = s.executor->fetch(i);
      std::vector<int64_t> dims = local.shape().dims();
      if (s.split_fetches[i]) dims[0] *= s.ranks;
      s.gathered.push_back(s.split_fetches[i] ? Tensor(Shape(dims), local.dtype()) : Tensor());
    }
  }
  return absl::OkStatus();
}

absl::Status JobFunction::RunInPlace(absl::Span<const Tensor> feeds) {
  FLOWRT_RETURN_IF_ERROR(Compile());
  State& s = *state_;
  if (s.ranks == 1) {
    FLOWRT_RETURN_IF_ERROR(s.executor->Run(feeds));
  } else {
    FLOWRT_RETURN_IF_ERROR(RunOnSlice(s, feeds));
  }
  for (size_t i = 0; i < state_->watch_callbacks.size(); ++i) {
    state_->watch_callbacks[i](fetch(state_->num_outputs + static_cast<int>(i)));
  }
  return absl::OkStatus();
}

absl::Status JobFunction::RunOnSlice(State& s, absl::Span<const Tensor> feeds) {
  if (feeds.size() != s.global_shapes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job '", s.name, "' takes ", s.global_shapes.size(), " inputs, got ", feeds.size()));
  }
  Communicator& world = Communicator::World();
  s.local_feeds.clear();
  for (size_t i = 0; i < feeds.size(); ++i) {
    const Shape& global = s.global_shapes[i];
    if (feeds[i].shape() != global) {  // the executor names the dtype; the shape is global here
      return absl::InvalidArgumentError(absl::StrCat("job '", s.name, "': input ", i,
                                                     " expects shape ", global.ToString(), ", got ",
                                                     feeds[i].shape().ToString()));
    }
    // This rank's rows [rank·b, (rank+1)·b) of axis 0: a view, no copy.
    const int64_t bytes = global.rank() == 0 ? 0 : feeds[i].num_bytes() / s.ranks;
    char* base = static_cast<char*>(const_cast<void*>(feeds[i].raw_data()));
    s.local_feeds.push_back(
        Tensor::Wrap(base + world.rank() * bytes, s.local_shapes[i], feeds[i].dtype()));
  }
  FLOWRT_RETURN_IF_ERROR(s.executor->Run(s.local_feeds));
  for (size_t i = 0; i < s.gathered.size(); ++i) {
    const Tensor& local = s.executor->fetch(static_cast<int>(i));
    if (s.split_fetches[i]) {
      world.Allgather(local.raw_data(), local.num_bytes(), s.gathered[i].raw_data());
    }
  }
  return absl::OkStatus();
}

const Tensor& JobFunction::fetch(int i) const {
  const State& s = *state_;
  if (i < static_cast<int>(s.split_fetches.size()) && s.split_fetches[i]) {
    return s.gathered[i];
  }
  return CompiledJob::GetExecutor(*this).fetch(i);
}

absl::StatusOr<std::vector<Tensor>> JobFunction::Run(absl::Span<const Tensor> feeds) {
  FLOWRT_RETURN_IF_ERROR(RunInPlace(feeds));
  std::vector<Tensor> results;
  for (int i = 0; i < state_->num_outputs; ++i) {
    results.push_back(fetch(i).Clone());
  }
  return results;
}

}  // namespace flow

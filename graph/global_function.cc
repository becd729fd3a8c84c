#include "graph/global_function.h"

#include "absl/strings/str_cat.h"
#include "graph/job_builder.h"
#include "runtime/executor.h"
#include "runtime/status.h"

namespace flow {

struct JobFunction::State {
  Session* session;
  std::string name;
  JobType type;
  Body body;
  std::vector<Placeholder> placeholders;
  flowrt::JobConf job;
  std::unique_ptr<Executor> executor;
};

JobFunction::JobFunction(Session* session, std::string name, JobType type, Body body,
                         std::vector<Placeholder> placeholders)
    : state_(std::make_shared<State>()) {
  state_->session = session;
  state_->name = std::move(name);
  state_->type = type;
  state_->body = std::move(body);
  state_->placeholders = std::move(placeholders);
}

bool JobFunction::compiled() const { return state_->executor != nullptr; }
const std::string& JobFunction::name() const { return state_->name; }
Session& JobFunction::session() const { return *state_->session; }

const flowrt::JobConf& JobFunction::job() const {
  CHECK(compiled()) << "job '" << state_->name << "' is not compiled";
  return state_->job;
}

Executor& JobFunction::executor() const {
  CHECK(compiled()) << "job '" << state_->name << "' is not compiled";
  return *state_->executor;
}

absl::Status JobFunction::Compile() {
  if (compiled()) return absl::OkStatus();
  State& s = *state_;
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
    RETURN_IF_ERROR(builder.status());
    for (const Blob& out : outputs) {
      CHECK(out.ok());
      builder.mutable_job()->add_fetch(out.name());
    }
  }
  if (s.type == JobType::kTrain && !builder.minimized()) {
    return absl::FailedPreconditionError(
        absl::StrCat("train job '", s.name, "' never called an optimizer's minimize(loss)"));
  }
  RETURN_IF_ERROR(s.session->AddJob(builder.job()));
  Session* session = s.session;
  ExecutorOptions options{session->options().reuse_memory, session->options().threads,
                          session->options().seed};
  ASSIGN_OR_RETURN(
      s.executor,
      Executor::Create(
          builder.job(), [session](const std::string& name) { return session->FindVariable(name); },
          options));
  s.job = builder.job();
  return absl::OkStatus();
}

absl::Status JobFunction::RunInPlace(absl::Span<const Tensor> feeds) {
  RETURN_IF_ERROR(Compile());
  return state_->executor->Run(feeds);
}

const Tensor& JobFunction::fetch(int i) const { return executor().fetch(i); }

absl::StatusOr<std::vector<Tensor>> JobFunction::Run(absl::Span<const Tensor> feeds) {
  RETURN_IF_ERROR(RunInPlace(feeds));
  std::vector<Tensor> results;
  for (int i = 0; i < state_->executor->num_fetches(); ++i) {
    results.push_back(state_->executor->fetch(i).Clone());
  }
  return results;
}

}  // namespace flow

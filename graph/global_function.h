// OneFlow's @flow.global_function in C++: a job function records its graph the first time it is
// called (or compiled explicitly), then every call only feeds placeholders and runs the plan.
//
//   auto train_job = flow::global_function("train_job", flow::JobType::kTrain,
//       [](flow::Blob images /*(100,1,28,28)*/, flow::Blob labels /*(100,)*/) {
//         ...
//         return loss;
//       },
//       flow::Placeholder({100, 1, 28, 28}, flow::kFloat), flow::Placeholder({100}, flow::kInt32));
//   absl::StatusOr<flow::Tensor> loss = train_job(images, labels);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "framework/blob.h"
#include "graph/session.h"
#include "runtime/tensor.h"

namespace flow {

enum class JobType { kTrain, kPredict };

// An input of a job function: its static shape and dtype (and, optionally, the op name).
struct Placeholder {
  Placeholder(Shape shape, DataType dtype = DataType::kFloat, std::string name = "")
      : shape(std::move(shape)), dtype(dtype), name(std::move(name)) {}
  Shape shape;
  DataType dtype;
  std::string name;  // default "input_<i>"
};

class JobFunction {
 public:
  using Body = std::function<std::vector<Blob>(const std::vector<Blob>&)>;

  JobFunction(Session* session, std::string name, JobType type, Body body,
              std::vector<Placeholder> placeholders);

  // Records the body, runs the autodiff/optimizer passes it asked for, creates and initializes
  // new variables in the session, and compiles the plan. Called by the first Run if needed, and
  // by the session's CompileDefinedJobs (load_variables, checkpoint::save) for every job defined.
  // Errors (bad shapes, name clashes, ...) leave the session as it was.
  absl::Status Compile();
  bool compiled() const;

  // One iteration. Returns a copy of every fetched blob (what the body returned).
  absl::StatusOr<std::vector<Tensor>> Run(absl::Span<const Tensor> feeds);
  // One iteration, returning the first fetch.
  template <typename... T>
  absl::StatusOr<Tensor> operator()(const T&... feeds) {
    std::vector<Tensor> inputs{feeds...};
    absl::StatusOr<std::vector<Tensor>> out = Run(inputs);
    if (!out.ok()) return out.status();
    if (out->empty()) return Tensor();
    return std::move((*out)[0]);
  }
  // One iteration without copying results (and without allocating once compiled): fetches stay
  // readable through fetch(i) until the next call.
  absl::Status RunInPlace(absl::Span<const Tensor> feeds);
  const Tensor& fetch(int i) const;

  const std::string& name() const;
  Session& session() const;

 private:
  // graph/compiled_job.h (internal, not installed): the compiled JobConf and Executor, for the
  // graph view, the op profile and tests.
  friend struct CompiledJob;
  struct State;
  static absl::Status Compile(State& state);
  static absl::Status CompileOnRank(State& state);
  // Data-parallel run: this rank's rows of `feeds`, then the split fetches all-gathered.
  static absl::Status RunOnSlice(State& state, absl::Span<const Tensor> feeds);
  std::shared_ptr<State> state_;
};

namespace internal {

template <typename F, size_t... I>
std::vector<Blob> CallBody(F& body, const std::vector<Blob>& in, std::index_sequence<I...>) {
  using Result = decltype(body(in[I]...));
  if constexpr (std::is_void_v<Result>) {
    body(in[I]...);
    return {};
  } else if constexpr (std::is_same_v<std::decay_t<Result>, Blob>) {
    return {body(in[I]...)};
  } else {
    return body(in[I]...);  // std::vector<Blob>
  }
}

}  // namespace internal

// A job function in `session`. The body takes one Blob per placeholder and returns a Blob, a
// std::vector<Blob>, or nothing: the blobs each call returns.
template <typename F, typename... P>
JobFunction global_function(Session& session, std::string name, JobType type, F body,
                            P... placeholders) {
  JobFunction::Body erased = [body](const std::vector<Blob>& in) mutable {
    return internal::CallBody(body, in, std::index_sequence_for<P...>());
  };
  return JobFunction(&session, std::move(name), type, std::move(erased),
                     std::vector<Placeholder>{Placeholder(placeholders)...});
}

// A job function in the default session.
template <typename F, typename... P>
JobFunction global_function(std::string name, JobType type, F body, P... placeholders) {
  return global_function(Session::Default(), std::move(name), type, std::move(body),
                         std::move(placeholders)...);
}

}  // namespace flow

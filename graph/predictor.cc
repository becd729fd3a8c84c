#include "graph/predictor.h"

#include <deque>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "graph/checkpoint.h"
#include "graph/session.h"
#include "runtime/status.h"

namespace flow {

namespace {

// The compiled copies of the job for one batch size. Copies are never destroyed before the
// predictor, so pointers into `copies` stay valid while a call holds one.
struct BatchPool {
  std::deque<JobFunction> copies;
  std::vector<JobFunction*> free;  // capacity == copies.size(): returning a copy never allocates
  Shape output_shape;
};

}  // namespace

struct Predictor::Impl {
  Impl(Body body, Placeholder example, PredictorOptions options)
      : body(std::move(body)),
        example(std::move(example)),
        options(std::move(options)),
        session({.threads = this->options.threads, .data_parallel = false}) {
  }  // inference is per process, also under mpirun

  // Records and compiles one more copy of the job for batch n, adds it to the pool of n and
  // returns it checked out (not in the free list).
  absl::StatusOr<JobFunction*> CompileCopy(int64_t n) {
    // The session (variables, job names) is not thread-safe; compiles take turns. Running copies
    // only touch their own arenas and read the variables, which compiling a new copy of the same
    // body leaves as they are (every variable already exists, so none is initialized).
    absl::MutexLock compile_lock(&compile_mu);
    BatchPool* pool;
    int copy_index;
    {
      absl::MutexLock lock(&mu);
      std::unique_ptr<BatchPool>& slot = pools[n];
      if (slot == nullptr) slot = std::make_unique<BatchPool>();
      pool = slot.get();
      copy_index = static_cast<int>(pool->copies.size());
    }
    Body* body_ptr = &body;
    JobFunction job = global_function(
        session, absl::StrCat(options.name, "_b", n, "_", copy_index), JobType::kPredict,
        [body_ptr](Blob input) { return (*body_ptr)(input); },
        Placeholder(InputShape(n), example.dtype, example.name));
    FLOWRT_RETURN_IF_ERROR(job.Compile());
    absl::MutexLock lock(&mu);
    pool->copies.push_back(std::move(job));
    pool->free.reserve(pool->copies.size());
    pool->output_shape = pool->copies.back().fetch(0).shape();
    output_dtype = pool->copies.back().fetch(0).dtype();
    return &pool->copies.back();
  }

  Shape InputShape(int64_t n) const {
    std::vector<int64_t> dims = {n};
    for (int i = 0; i < example.shape.rank(); ++i) dims.push_back(example.shape[i]);
    return Shape(std::move(dims));
  }

  // Checks the input against the example without building a Shape (no allocation).
  absl::Status CheckInput(const Tensor& input) const {
    const Shape& shape = input.shape();
    bool ok =
        input.dtype() == example.dtype && shape.rank() == example.shape.rank() + 1 && shape[0] >= 1;
    for (int i = 0; ok && i < example.shape.rank(); ++i) ok = shape[i + 1] == example.shape[i];
    if (ok) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("predictor '", options.name, "' takes ", DataTypeName(example.dtype), " (N, ",
                     absl::StrJoin(example.shape.dims(), ", "), ") with N >= 1, got ",
                     DataTypeName(input.dtype()), " ", shape.ToString()));
  }

  // A free copy for batch n, compiling one if there is none.
  absl::StatusOr<JobFunction*> CheckOut(int64_t n) {
    {
      absl::MutexLock lock(&mu);
      auto it = pools.find(n);
      if (it != pools.end() && !it->second->free.empty()) {
        JobFunction* job = it->second->free.back();
        it->second->free.pop_back();
        return job;
      }
    }
    return CompileCopy(n);
  }

  void Return(int64_t n, JobFunction* job) {
    absl::MutexLock lock(&mu);
    pools.find(n)->second->free.push_back(job);
  }

  Body body;
  Placeholder example;
  PredictorOptions options;
  Session session;
  absl::Mutex compile_mu;
  mutable absl::Mutex mu;
  absl::flat_hash_map<int64_t, std::unique_ptr<BatchPool>> pools ABSL_GUARDED_BY(mu);
  DataType output_dtype ABSL_GUARDED_BY(mu) = DataType::kInvalid;
};

Predictor::Predictor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Predictor::~Predictor() = default;

absl::StatusOr<std::unique_ptr<Predictor>> Predictor::Load(const std::string& snapshot_dir,
                                                           Body body, Placeholder example,
                                                           PredictorOptions options) {
  auto impl = std::make_unique<Impl>(std::move(body), std::move(example), std::move(options));
  // Batch 1 first: its compile creates the variables the snapshot is loaded into.
  FLOWRT_ASSIGN_OR_RETURN(JobFunction * first, impl->CompileCopy(1));
  impl->Return(1, first);
  FLOWRT_ASSIGN_OR_RETURN(checkpoint::Snapshot snapshot, checkpoint::get(snapshot_dir));
  FLOWRT_ASSIGN_OR_RETURN(LoadReport report, load_variables(snapshot, true, impl->session));
  if (!report.missing.empty()) {
    return absl::NotFoundError(absl::StrCat("snapshot ", snapshot_dir,
                                            " does not fit the predict job: it lacks ",
                                            absl::StrJoin(report.missing, ", ")));
  }
  return std::unique_ptr<Predictor>(new Predictor(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Predictor>> Predictor::Create(
    const std::map<std::string, Tensor>& variables, Body body, Placeholder example,
    PredictorOptions options) {
  auto impl = std::make_unique<Impl>(std::move(body), std::move(example), std::move(options));
  FLOWRT_ASSIGN_OR_RETURN(JobFunction * first, impl->CompileCopy(1));
  impl->Return(1, first);
  FLOWRT_ASSIGN_OR_RETURN(LoadReport report, impl->session.load_variables(variables, true));
  if (!report.missing.empty()) {
    return absl::NotFoundError(absl::StrCat("the given variables do not fit the predict job: ",
                                            "they lack ", absl::StrJoin(report.missing, ", ")));
  }
  return std::unique_ptr<Predictor>(new Predictor(std::move(impl)));
}

absl::Status Predictor::Predict(const Tensor& input, Tensor* output) {
  FLOWRT_RETURN_IF_ERROR(impl_->CheckInput(input));
  const int64_t n = input.shape()[0];
  FLOWRT_ASSIGN_OR_RETURN(JobFunction * job, impl_->CheckOut(n));
  absl::Status status = job->RunInPlace(absl::MakeConstSpan(&input, 1));
  if (status.ok()) {
    const Tensor& result = job->fetch(0);
    if (output->shape() != result.shape() || output->dtype() != result.dtype()) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "predictor output must be ", DataTypeName(result.dtype()), " ", result.shape().ToString(),
          ", got ", DataTypeName(output->dtype()), " ", output->shape().ToString()));
    } else {
      output->CopyFrom(result);
    }
  }
  impl_->Return(n, job);
  return status;
}

absl::StatusOr<Tensor> Predictor::Predict(const Tensor& input) {
  FLOWRT_RETURN_IF_ERROR(impl_->CheckInput(input));
  FLOWRT_ASSIGN_OR_RETURN(Shape shape, OutputShape(input.shape()[0]));
  Tensor output(std::move(shape), output_dtype());
  FLOWRT_RETURN_IF_ERROR(Predict(input, &output));
  return output;
}

absl::StatusOr<Shape> Predictor::OutputShape(int64_t n) {
  if (n < 1) return absl::InvalidArgumentError(absl::StrCat("batch size must be >= 1, got ", n));
  {
    absl::MutexLock lock(&impl_->mu);
    auto it = impl_->pools.find(n);
    if (it != impl_->pools.end() && !it->second->copies.empty()) return it->second->output_shape;
  }
  FLOWRT_ASSIGN_OR_RETURN(JobFunction * job, impl_->CompileCopy(n));
  impl_->Return(n, job);
  absl::MutexLock lock(&impl_->mu);
  return impl_->pools.find(n)->second->output_shape;
}

DataType Predictor::output_dtype() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->output_dtype;
}

Shape Predictor::InputShape(int64_t n) const { return impl_->InputShape(n); }

int Predictor::num_batch_sizes() const {
  absl::MutexLock lock(&impl_->mu);
  return static_cast<int>(impl_->pools.size());
}

int Predictor::num_compiled_jobs() const {
  absl::MutexLock lock(&impl_->mu);
  int total = 0;
  for (const auto& [n, pool] : impl_->pools) total += static_cast<int>(pool->copies.size());
  return total;
}

}  // namespace flow

// A session holds every variable (name → persistent tensor, shared by all of its jobs) and the
// jobs' names. As in OneFlow there is a default session; tests create their own.
//
//   flow::Session session({.seed = 7, .threads = 2});
//   auto job = flow::global_function(session, "train_job", flow::JobType::kTrain, body, ...);
//   std::map<std::string, flow::Tensor> vars = session.get_all_variables();
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/tensor.h"

namespace flow {

// Which of the graph's exact compile-time rewrites run (graph/passes/exact_rewrites.h). Each is
// bit-identical to training without it; off only to compare or to debug.
struct ExactRewrites {
  bool relu_grad_before_max_pool_grad = true;       // relu_grad on the pooled gradient
  bool relu_grad_into_max_pool_grad = true;         // that relu_grad inside the max-pool gradient
  bool sgd_update_into_dense_grad_weight = true;    // plain SGD fed by a dense layer's dW GEMM
  bool max_pool_grad_into_conv_grad_weight = true;  // a pooled conv's dW from the pooling gradient
  bool conv2d_into_max_pool2d = true;  // a conv read only by a max pooling, image by image
};

struct SessionOptions {
  // Variables without an explicit random_seed draw from (seed, variable name): adding a layer
  // never changes another layer's initial values, and two runs with one seed are bit-identical.
  uint64_t seed = 0;
  int threads = 0;  // OpenMP threads for kernels; 0 = OMP_NUM_THREADS, else all cores
  // Each job runs each step on `threads` or on 1 thread, whichever ran faster lately
  // (runtime/thread_governor.h): beside a process that keeps a core busy, 2 threads then cost what
  // 1 does instead of 1.1-1.4x more (or less: it first pins the threads to distinct cores). It
  // acts only while the process is preempted or its threads share a core, so on a quiet machine
  // it costs nothing. The results do not change: the kernels give the same bits at any thread
  // count up to half the batch (tests/runtime/thread_count_test.cc).
  bool adapt_threads = true;
  bool reuse_memory = true;  // the memory planner's buffer reuse (off only to debug)
  // Under `mpirun -np N`, jobs run data-parallel: each rank computes on its 1/N of every feed's
  // axis 0 and gradients are averaged over the ranks (README, "Training on several processes").
  // False: every rank runs the jobs whole, on its own (flow::Predictor's inference).
  bool data_parallel = true;
  // The exact compile-time graph rewrites (graph/passes/exact_rewrites.h); off only to compare.
  ExactRewrites rewrites;
};

// What load_variables did, name by name (each list sorted).
struct LoadReport {
  std::vector<std::string> loaded;      // in both the values and the session
  std::vector<std::string> missing;     // session variables the values did not have (kept)
  std::vector<std::string> unexpected;  // values with no such variable (ignored or an error)
};

// What load_variables is offered under one name: the shape and dtype of a value, or of a
// snapshot variable's meta; dtype kInvalid when unknown (a snapshot without meta).
struct OfferedVariable {
  Shape shape;
  DataType dtype = DataType::kInvalid;
};

class Session {
 public:
  explicit Session(SessionOptions options = {});
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  static Session& Default();

  const SessionOptions& options() const { return options_; }
  void set_threads(int threads) { options_.threads = threads; }

  // OneFlow initializes its session — compiles every defined job and creates its variables — at
  // the first job call, load_variables or checkpoint.save, so loading a snapshot right after
  // defining the jobs fills their variables. This compiles every job function of this session
  // that is still uncompiled, in definition order; flow::load_variables and
  // flow::checkpoint::save call it. The first job that fails to compile is the error (it stays
  // pending: calling it reports the same error).
  absl::Status CompileDefinedJobs();

  // Every variable of every compiled job, by name: views sharing the session's storage.
  std::map<std::string, Tensor> get_all_variables() const;
  // OneFlow's load_variables (after CompileDefinedJobs): copies each value into the variable of
  // that name. Shape or dtype mismatch is always an error (CheckFits);
  // names the session lacks are ignored when ignore_mismatch, else an error. Checks everything
  // before changing anything.
  absl::StatusOr<LoadReport> load_variables(const std::map<std::string, Tensor>& values,
                                            bool ignore_mismatch = true);
  // load_variables' fit check, the one for value dicts and snapshots: OK, or an error listing
  // every offered variable whose shape or dtype differs from the session's (both given), then the
  // session's variables not offered and the offered names it lacks. `source` names the offer in
  // the message ("snapshot" or "values"), `where` is its path (may be empty).
  absl::Status CheckFits(const std::map<std::string, OfferedVariable>& offered,
                         absl::string_view source, absl::string_view where) const;

  // The storage of a variable, or null.
  Tensor* FindVariable(const std::string& name);
  std::vector<std::string> VariableNames() const;

 private:
  // JobFunction::Compile checks a new job's variables against the existing ones (FindVariable),
  // initializes the new ones, then claims the job's name and adds them here.
  friend class JobFunction;
  // A new job function's compile step (a no-op once compiled or destroyed).
  void DefineJob(std::function<absl::Status()> compile) {
    defined_jobs_.push_back(std::move(compile));
  }
  bool HasJob(const std::string& job_name) const { return job_names_.contains(job_name); }
  void AddJob(const std::string& job_name, std::map<std::string, Tensor> new_variables);

  SessionOptions options_;
  std::map<std::string, Tensor> variables_;
  std::set<std::string> job_names_;
  // Compile steps of the job functions CompileDefinedJobs has not compiled yet.
  std::vector<std::function<absl::Status()>> defined_jobs_;
};

}  // namespace flow

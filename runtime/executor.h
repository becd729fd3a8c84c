// Compiles a recorded job once — shape checks, memory plan, every kernel with its primitives and
// bound tensors — and then runs it: a training step is "copy feeds, run kernels in order".
// It knows kernels and buffers only: what an op type is comes from the KernelDef lookup
// (runtime/kernel_def.h), and rewrites of the job happen before, on the graph side.
//
//   FLOWRT_ASSIGN_OR_RETURN(auto executor,
//                           Executor::Create(job, FindKernelDef, resolve_variable, {}));
//   FLOWRT_RETURN_IF_ERROR(executor->Run({images, labels}));
//   const Tensor& loss = executor->fetch(0);   // valid until the next Run
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "proto/job.pb.h"
#include "runtime/kernel.h"
#include "runtime/kernel_def.h"
#include "runtime/layout.h"
#include "runtime/tensor.h"
#include "runtime/thread_governor.h"

namespace flow {

struct ExecutorOptions {
  bool reuse_memory = true;  // false: every blob its own bytes (debugging aliasing)
  int threads = 0;           // OpenMP threads for kernels; 0: KernelThreads(0)
  uint64_t seed = 0;         // the session seed, for random kernels (dropout)
  // Keep conv/pool chains in oneDNN's blocked layout between ops (runtime/layout_assignment.h);
  // false: every blob plain, each kernel reorders at its own boundary (for comparison).
  bool blocked_layouts = true;
  // Data-parallel: which 1/N slice of the global batch this process computes (its rank), so
  // random kernels draw what one process would draw for those examples (ExecEnv::shard).
  int shard = 0;
  // Let each Run choose between `threads` and 1 thread by the recent step times and the process's
  // usage (runtime/thread_governor.h), pinning the `threads` to distinct CPUs once they are
  // preempted or share a core (runtime/team_pinning.h; not where the user asked for an OpenMP
  // binding), and pinned, choosing by the step times whether the OpenMP regions run on one
  // thread while the SpeculativeChunks loops keep all (ThreadGovernor::chunks_only): steady on a
  // busy machine, with the same results (the kernels give the same bits at any thread count).
  // Needs `threads` > 1 to do anything. The kernels for 1 thread are created when the governor
  // first asks for 1 thread, which happens only on a shared machine.
  bool adapt_threads = false;
  // With adapt_threads: what the process has used so far, its involuntary context switches and
  // CPU seconds (getrusage's when null), and its time in SpeculativeChunks loops
  // (SpeculativeChunksSeconds when null). Tests make a shared or a quiet machine with their own.
  std::function<ThreadGovernor::Usage()> usage;
};

// The OpenMP threads kernels run with when `requested` are asked for: requested if > 0, else
// OpenMP's default as the process started — OMP_NUM_THREADS when set, otherwise every core.
int KernelThreads(int requested);

// Returns the storage of a session variable, or null if there is none of that name.
using VariableResolver = std::function<Tensor*(const std::string& name)>;

class Executor {
 public:
  // `kernel_defs` resolves every op type of `job` (the graph passes FindKernelDef). The job's
  // train_step variable, if set, is the counter kernels read through ExecEnv::train_step.
  static absl::StatusOr<std::unique_ptr<Executor>> Create(const flowrt::JobConf& job,
                                                          const KernelDefLookup& kernel_defs,
                                                          const VariableResolver& variables,
                                                          const ExecutorOptions& options);
  ~Executor();

  // Feeds must match the placeholders' shapes and dtypes (an error names the placeholder and
  // both shapes otherwise). Allocates nothing, but for the first step that adapt_threads runs on
  // 1 thread: it creates the kernels for 1 thread.
  absl::Status Run(absl::Span<const Tensor> feeds);
  // As Run, adding each op's wall time in ms to `op_ms` (size num_ops()).
  absl::Status RunProfiled(absl::Span<const Tensor> feeds, std::vector<double>* op_ms);

  // The thread count the last Run (or RunProfiled) used.
  int last_threads() const { return last_threads_; }
  // Set when ExecutorOptions::adapt_threads is in effect, else null.
  const ThreadGovernor* governor() const { return governor_.get(); }

  int num_fetches() const { return static_cast<int>(fetches_.size()); }
  // The job's fetch i after the last Run: a view into the arena, valid until the next Run.
  const Tensor& fetch(int i) const { return fetches_[i]; }

  int num_ops() const { return job_.op_size(); }
  // The job as it runs (as given to Create: after the graph's compile-time rewrites).
  const flowrt::JobConf& job() const { return job_; }
  // Bytes of the activation arena, and the arena offset of a blob (-1 for variables).
  int64_t arena_bytes() const { return arena_bytes_; }
  int64_t ArenaOffset(const std::string& blob) const;
  // Static shape and dtype of every blob, after compilation.
  const BlobDesc* FindBlobDesc(const std::string& blob) const;
  // How a blob is stored in the arena (fetches, variables and placeholders are always plain).
  Layout BlobLayout(const std::string& blob) const;

 private:
  Executor() = default;
  absl::Status CheckFeeds(absl::Span<const Tensor> feeds);
  // Every op's kernel, created for `threads` OpenMP threads (which it leaves set).
  absl::StatusOr<std::vector<std::unique_ptr<Kernel>>> CreateKernels(int threads);
  // The kernels for the step about to run with last_threads_.
  const std::vector<std::unique_ptr<Kernel>>& StepKernels();
  ThreadGovernor::Usage Usage() const;

  flowrt::JobConf job_;
  ExecutorOptions options_;
  ExecEnv env_;
  std::shared_ptr<void> arena_;
  int64_t arena_bytes_ = 0;
  std::map<std::string, BlobDesc> descs_;
  std::map<std::string, int64_t> offsets_;
  std::set<std::string> blocked_;     // blobs stored in Layout::kBlocked
  std::vector<Tensor> placeholders_;  // arena views, in job.placeholder order
  std::vector<std::string> placeholder_names_;
  std::vector<Tensor> fetches_;
  std::vector<KernelContext> contexts_;           // per kernel: what CreateKernels binds
  std::vector<const KernelDef*> kernel_defs_;     // per kernel
  std::vector<std::unique_ptr<Kernel>> kernels_;  // in execution order, at options_.threads
  // adapt_threads: the same kernels created for 1 thread (at the first step on 1 thread), and who
  // picks between the two sets.
  std::vector<std::unique_ptr<Kernel>> one_thread_kernels_;
  std::unique_ptr<ThreadGovernor> governor_;
  ThreadGovernor::Usage last_usage_;  // Usage() at the end of the last step
  int last_threads_ = 0;
  std::vector<int> kernel_op_index_;  // op index of each kernel, for profiling
};

}  // namespace flow

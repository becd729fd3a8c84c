#include "runtime/executor.h"

#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "runtime/communicator.h"
#include "runtime/layout_assignment.h"
#include "runtime/memory_plan.h"
#include "runtime/shape_inference.h"
#include "runtime/speculative_chunks.h"
#include "runtime/status.h"
#include "runtime/team_pinning.h"
#include "runtime/thread_governor.h"

namespace flow {
namespace {

void SetThreads(int threads) {
  const int wanted = KernelThreads(threads);
  if (omp_get_max_threads() != wanted) omp_set_num_threads(wanted);
}

// Where a blob's bytes live: a variable's storage, or a slot in the arena plan.
struct BufferInfo {
  Tensor* variable = nullptr;
  int request = -1;
};

}  // namespace

int KernelThreads(int requested) {
  // Read once, before any executor overrides it with omp_set_num_threads.
  static const int openmp_default = omp_get_max_threads();
  return requested > 0 ? requested : openmp_default;
}

Executor::~Executor() = default;

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(const flowrt::JobConf& given,
                                                           const KernelDefLookup& kernel_defs,
                                                           const VariableResolver& variables,
                                                           const ExecutorOptions& options) {
  std::unique_ptr<Executor> ex(new Executor());
  ex->job_ = given;
  const flowrt::JobConf& job = ex->job_;
  ex->options_ = options;
  SetThreads(options.threads);
  const int num_ops = job.op_size();

  // 1. Shape inference over the final job (after autodiff, optimizer passes and rewrites).
  FLOWRT_ASSIGN_OR_RETURN(ex->descs_, InferBlobDescs(job, kernel_defs));
  std::vector<const KernelDef*> defs;  // per op
  for (const flowrt::OpConf& op : job.op()) defs.push_back(kernel_defs(op.type()));

  // 2. Layouts: which activations stay blocked between oneDNN ops. The blocked layout of a
  //    blockable shape has the plain size, so the plan below is the same either way.
  if (options.blocked_layouts) ex->blocked_ = BlockedBlobs(job, defs, ex->descs_);
  auto layout_of = [&](const std::string& blob) {
    return ex->blocked_.contains(blob) ? Layout::kBlocked : Layout::kPlain;
  };

  // 3. Buffers: variables bind to their storage; aliasing outputs share their input's buffer;
  //    everything else requests arena bytes live from its producer to its last reader.
  std::map<std::string, BufferInfo> buffer_of;
  std::vector<BufferRequest> requests;
  for (int i = 0; i < num_ops; ++i) {
    const flowrt::OpConf& op = job.op(i);
    const KernelDef& def = *defs[i];
    for (const std::string& in : op.input()) {
      const BufferInfo& info = buffer_of.at(in);
      if (info.request >= 0) requests[info.request].last_use = i;
    }
    if (def.role == OpRole::kVariable) {
      Tensor* storage = variables(op.name());
      if (storage == nullptr) {
        return absl::NotFoundError(absl::StrCat("variable '", op.name(), "' has no storage"));
      }
      buffer_of[op.output(0)] = BufferInfo{storage, -1};
      if (op.name() == job.train_step()) ex->env_.train_step = storage->data<int64_t>();
      continue;
    }
    for (int k = 0; k < op.output_size(); ++k) {
      if (def.aliases_input && k == 0) {
        buffer_of[op.output(0)] = buffer_of.at(op.input(0));
        continue;
      }
      const BlobDesc& desc = ex->descs_.at(op.output(k));
      // Placeholders are written before op 0 runs, so they are live from the start.
      const int first = def.role == OpRole::kPlaceholder ? 0 : i;
      requests.push_back({desc.shape.NumElements() * ItemSize(desc.dtype), first, i});
      buffer_of[op.output(k)] = BufferInfo{nullptr, static_cast<int>(requests.size()) - 1};
    }
  }
  for (const std::string& fetch : job.fetch()) {
    auto it = buffer_of.find(fetch);
    if (it == buffer_of.end()) {
      return absl::InvalidArgumentError(absl::StrCat("fetch of unknown blob '", fetch, "'"));
    }
    if (it->second.request >= 0) requests[it->second.request].last_use = num_ops;
  }
  const MemoryPlan plan = PlanMemory(requests, options.reuse_memory);
  ex->arena_bytes_ = plan.arena_bytes;
  ex->arena_ = AllocateAligned(plan.arena_bytes);
  char* arena = static_cast<char*>(ex->arena_.get());
  auto tensor_of = [&](const std::string& blob) {
    const BufferInfo& info = buffer_of.at(blob);
    const BlobDesc& desc = ex->descs_.at(blob);
    if (info.variable != nullptr) {
      return Tensor::Wrap(info.variable->raw_data(), desc.shape, desc.dtype);
    }
    ex->offsets_[blob] = plan.offsets[info.request];
    return Tensor::Wrap(arena + plan.offsets[info.request], desc.shape, desc.dtype);
  };

  // 4. Kernels, created once with their tensors bound. The contexts first: kernels are created
  //    from them once per thread count the job runs with (oneDNN primitives fix their team size
  //    when they are created).
  std::set<std::string> read_blobs(job.fetch().begin(), job.fetch().end());
  for (const flowrt::OpConf& op : job.op()) read_blobs.insert(op.input().begin(), op.input().end());
  ex->env_.is_train = job.job_type() == flowrt::kTrain;
  ex->env_.session_seed = options.seed;
  ex->env_.shard = options.shard;
  for (int i = 0; i < num_ops; ++i) {
    const flowrt::OpConf& op = job.op(i);
    const KernelDef& def = *defs[i];
    if (def.role == OpRole::kPlaceholder) {
      ex->placeholders_.push_back(tensor_of(op.output(0)));
      ex->placeholder_names_.push_back(op.name());
      continue;
    }
    if (def.role == OpRole::kVariable) continue;
    for (const std::string& out : op.output()) tensor_of(out);  // records arena offsets
    if (def.aliases_input) continue;
    FLOWRT_CHECK(def.kernel_fn) << "op type " << op.type() << " has no kernel";
    KernelContext ctx{op, {}, {}, ex->env_};
    for (const std::string& in : op.input()) {
      ctx.inputs.push_back(tensor_of(in));
      ctx.input_layouts.push_back(layout_of(in));
    }
    for (const std::string& out : op.output()) {
      ctx.outputs.push_back(tensor_of(out));
      ctx.output_layouts.push_back(layout_of(out));
      ctx.output_read.push_back(read_blobs.contains(out));
    }
    ex->contexts_.push_back(std::move(ctx));
    ex->kernel_defs_.push_back(&def);
    ex->kernel_op_index_.push_back(i);
  }
  const int threads = KernelThreads(options.threads);
  if (options.adapt_threads && threads > 1) {
    ex->governor_ = std::make_unique<ThreadGovernor>(
        threads, TeamPinning::Process().available(threads), /*can_chunks_only=*/true);
    ex->last_usage_ = ex->Usage();
  }
  FLOWRT_ASSIGN_OR_RETURN(ex->kernels_, ex->CreateKernels(threads));
  for (const std::string& fetch : job.fetch()) ex->fetches_.push_back(tensor_of(fetch));
  return ex;
}

absl::StatusOr<std::vector<std::unique_ptr<Kernel>>> Executor::CreateKernels(int threads) {
  SetThreads(threads);
  std::vector<std::unique_ptr<Kernel>> kernels;
  for (size_t k = 0; k < contexts_.size(); ++k) {
    const flowrt::OpConf& op = contexts_[k].op;
    absl::StatusOr<std::unique_ptr<Kernel>> kernel = kernel_defs_[k]->kernel_fn(contexts_[k]);
    if (!kernel.ok()) {
      return absl::Status(kernel.status().code(),
                          absl::StrCat("op '", op.name(), "' (", op.type(),
                                       "): cannot create kernel: ", kernel.status().message()));
    }
    kernels.push_back(*std::move(kernel));
  }
  return kernels;
}

const std::vector<std::unique_ptr<Kernel>>& Executor::StepKernels() {
  if (!governor_ || last_threads_ != 1) return kernels_;
  if (one_thread_kernels_.empty()) {
    // The first step on 1 thread: its kernels, once. They were created for more threads already,
    // so this fails only where memory runs out; the job then keeps its thread count.
    absl::StatusOr<std::vector<std::unique_ptr<Kernel>>> kernels = CreateKernels(1);
    if (!kernels.ok()) {
      governor_.reset();
      last_threads_ = KernelThreads(options_.threads);
      SetThreads(last_threads_);
      return kernels_;
    }
    one_thread_kernels_ = *std::move(kernels);
  }
  return one_thread_kernels_;
}

ThreadGovernor::Usage Executor::Usage() const {
  if (options_.usage) return options_.usage();
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return {usage.ru_nivcsw, seconds(usage.ru_utime) + seconds(usage.ru_stime),
          SpeculativeChunksSeconds()};
}

absl::Status Executor::CheckFeeds(absl::Span<const Tensor> feeds) {
  if (feeds.size() != placeholders_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job '", job_.name(), "' takes ", placeholders_.size(), " inputs, got ", feeds.size()));
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    const Tensor& want = placeholders_[i];
    if (feeds[i].shape() != want.shape() || feeds[i].dtype() != want.dtype()) {
      return absl::InvalidArgumentError(
          absl::StrCat("job '", job_.name(), "': placeholder '", placeholder_names_[i],
                       "' expects ", DataTypeName(want.dtype()), " ", want.shape().ToString(),
                       ", got ", DataTypeName(feeds[i].dtype()), " ", feeds[i].shape().ToString()));
    }
  }
  return absl::OkStatus();
}

absl::Status Executor::Run(absl::Span<const Tensor> feeds) {
  FLOWRT_RETURN_IF_ERROR(CheckFeeds(feeds));
  const auto start = std::chrono::steady_clock::now();
  last_threads_ = governor_ ? governor_->threads() : KernelThreads(options_.threads);
  SetThreads(last_threads_);
  const std::vector<std::unique_ptr<Kernel>>& kernels = StepKernels();
  TeamPinning& pinning = TeamPinning::Process();
  if (governor_ && governor_->pinned() && last_threads_ > 1 && !pinning.pinned()) {
    pinning.Pin(last_threads_);
  } else if (last_threads_ == 1) {
    pinning.Unpin();  // also where another job's executor pinned the threads
  }
  // Chunks-only: the OpenMP regions on one thread, the SpeculativeChunks loops on the kernels'
  // team (ThreadGovernor::chunks_only); the user's OpenMP count is back after the step.
  const bool chunks_only = governor_ && governor_->chunks_only();
  if (chunks_only) SetThreads(1);
  for (size_t i = 0; i < feeds.size(); ++i) placeholders_[i].CopyFrom(feeds[i]);
  Communicator& world = Communicator::World();
  absl::Status status;
  for (const std::unique_ptr<Kernel>& kernel : kernels) {
    status = kernel->Run();
    if (!status.ok()) break;
    // A started gradient all-reduce advances only inside MPI calls: poke it between kernels so
    // it proceeds while the backward pass computes (allreduce_wait then finds it done).
    if (world.HasPending()) world.Progress();
  }
  if (chunks_only) SetThreads(last_threads_);
  FLOWRT_RETURN_IF_ERROR(status);
  if (governor_) {
    // The usage since the last step's end: one getrusage (~1 µs) per step.
    const ThreadGovernor::Usage usage = Usage();
    governor_->Record(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
        {usage.preemptions - last_usage_.preemptions, usage.cpu_seconds - last_usage_.cpu_seconds,
         usage.chunk_seconds - last_usage_.chunk_seconds});
    last_usage_ = usage;
  }
  return absl::OkStatus();
}

absl::Status Executor::RunProfiled(absl::Span<const Tensor> feeds, std::vector<double>* op_ms) {
  FLOWRT_RETURN_IF_ERROR(CheckFeeds(feeds));
  last_threads_ = KernelThreads(options_.threads);  // the profile is of the configured count
  SetThreads(last_threads_);
  op_ms->resize(num_ops(), 0.0);
  for (size_t i = 0; i < feeds.size(); ++i) placeholders_[i].CopyFrom(feeds[i]);
  for (size_t k = 0; k < kernels_.size(); ++k) {
    const auto start = std::chrono::steady_clock::now();
    FLOWRT_RETURN_IF_ERROR(kernels_[k]->Run());
    if (Communicator::World().HasPending()) Communicator::World().Progress();
    const auto end = std::chrono::steady_clock::now();
    (*op_ms)[kernel_op_index_[k]] += std::chrono::duration<double, std::milli>(end - start).count();
  }
  return absl::OkStatus();
}

int64_t Executor::ArenaOffset(const std::string& blob) const {
  auto it = offsets_.find(blob);
  return it == offsets_.end() ? -1 : it->second;
}

Layout Executor::BlobLayout(const std::string& blob) const {
  return blocked_.contains(blob) ? Layout::kBlocked : Layout::kPlain;
}

const BlobDesc* Executor::FindBlobDesc(const std::string& blob) const {
  auto it = descs_.find(blob);
  return it == descs_.end() ? nullptr : &it->second;
}

}  // namespace flow

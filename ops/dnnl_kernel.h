// Helpers for kernels built on oneDNN primitives: memory objects over bound tensors, and a kernel
// that executes a list of primitives with argument arrays prepared at compile time (through the
// C API, so a step does not build the std::unordered_map the C++ execute() takes).
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "ops/one_openmp_thread.h"
#include "runtime/dnnl_context.h"
#include "runtime/kernel.h"
#include "runtime/layout.h"
#include "runtime/speculative_chunks.h"

namespace flow {

// A oneDNN memory over the tensor's bytes with the given plain layout.
dnnl::memory DnnlMemory(const Tensor& tensor, dnnl::memory::format_tag tag);
dnnl::memory::desc DnnlDesc(const Shape& shape, dnnl::memory::format_tag tag);
// The f32 (N, C, H, W) descriptor of a blob stored in `layout` (nchw or nChw{16,8}c).
dnnl::memory::desc DnnlDesc(const Shape& shape, Layout layout);
dnnl::memory::dims DnnlDims(const Shape& shape);

// Primitive attributes asking for a user-mode scratchpad: DnnlKernel::Add allocates it once, at
// compile time, instead of leaving it to oneDNN's library-managed scratchpad.
dnnl::primitive_attr UserScratchpad();

// One primitive with its arguments.
class DnnlStep {
 public:
  DnnlStep(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args);
  void Execute() const;

 private:
  dnnl::primitive primitive_;
  std::vector<dnnl::memory> memories_;  // keeps the handles alive
  std::vector<dnnl_exec_arg_t> args_;
};

// A kernel running oneDNN primitives between bound tensors. A tensor stored otherwise than its
// primitive wants (a plain blob for a convolution that computes in nChw16c, say) goes through a
// buffer the kernel owns: inputs are reordered into it before the primitives run, outputs out of
// it after. Buffers and user-mode scratchpads are allocated here, once; Run() allocates nothing.
class DnnlKernel : public Kernel {
 public:
  // The memory to pass as a primitive's input: `tensor` itself when `stored` == `wanted`.
  dnnl::memory Input(const Tensor& tensor, const dnnl::memory::desc& stored,
                     const dnnl::memory::desc& wanted);
  // The memory to pass as a primitive's output, which produces `produced`.
  dnnl::memory Output(const Tensor& tensor, const dnnl::memory::desc& stored,
                      const dnnl::memory::desc& produced);
  // Appends a compute step; with a non-empty `scratchpad`, also a scratchpad buffer for it.
  void Add(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args);
  void Add(dnnl::primitive primitive, const dnnl::memory::desc& scratchpad,
           std::vector<std::pair<int, dnnl::memory>> args);

  // How AddBatchChunks gives an argument to each chunk's primitive.
  enum class Chunking {
    kWhole,          // the whole argument (a weight)
    kBatched,        // an input's images of the chunk (axis 0)
    kBatchedOutput,  // an output's images of the chunk: written into the thread's own buffer and
                     // copied into place when the chunk commits
    kSummed,  // an output the chunk writes whole into a buffer of its own; after all chunks ran,
              // the argument is the buffers' sum in chunk order (a weight gradient)
  };
  // One argument of a primitive: `bind` gives the memory of the whole argument in the format the
  // primitive wants (through Input or Output).
  struct PrimitiveArg {
    int arg;
    Chunking chunking;
    std::function<dnnl::memory(const dnnl::memory::desc& wanted)> bind;
  };
  // Appends the compute step in BatchChunks of `batch` images, which `threads` threads take
  // dynamically, each with its own scratchpad: make_pd(n) gives the primitive descriptor for n
  // images (run single-threaded). The chunks run as SpeculativeChunks
  // (runtime/speculative_chunks.h): a chunk whose worker the kernel took off the CPU is run again
  // by the caller, so a chunk writes only its slot's memory (a scratchpad, a buffer for each
  // kBatchedOutput argument, a set of kSummed parts), and the commit publishes it. The caller's
  // own chunks (slot 0) write their kBatchedOutput images in place, with nothing to copy. Returns
  // false, adding nothing, when the chunk primitives want a batched argument in a format other
  // than ActivationTag's, disagree on another one's, or want a summed one in other than f32, or
  // when the summed arguments' parts for the chunks would take more than kMaxSummedBytes.
  template <typename Primitive, typename MakePd>
  bool AddBatchChunks(int64_t batch, int threads, MakePd make_pd,
                      const std::vector<PrimitiveArg>& args);
  // At most this much for the kSummed arguments' parts (one per chunk, 16 at a batch of 16 or
  // more): LeNet's conv2 weight gradient takes 3.3 MB; a 3×3 convolution from 512 to 512 channels
  // (9.4 MB of weights) would take 151 MB, so it runs as oneDNN's one primitive, whose sums then
  // depend on the thread count. At more than one thread the caller has a second set of parts for
  // the chunks it runs, the ones it runs again included, so twice this at most.
  static constexpr size_t kMaxSummedBytes = size_t{64} << 20;
  // Appends the primitive of `pd` over the whole arguments, with its scratchpad.
  template <typename Primitive, typename Pd>
  void AddPrimitive(const Pd& pd, const std::vector<PrimitiveArg>& args);

  absl::Status Run() override;

 private:
  dnnl::memory Buffer(const dnnl::memory::desc& desc);

  // A kSummed argument: out = Σ over the chunks c, in chunk order, of chunk c's part, `size`
  // floats. parts[c · sets + s] is chunk c's part in set s (PartSet): set 0 is the caller's (its
  // own chunks and the ones it runs again), set 1 the workers'. A chunk is computed by one worker
  // at most (the first to claim it) and again by the caller when that worker is held up, so the
  // two never write the same part.
  struct ChunkSum {
    float* out;
    std::vector<const float*> parts;
    int64_t size;
  };
  // A kBatchedOutput argument: chunk c's images, computed into own[slot] in a slot other than 0,
  // are copied to out + chunk_starts_[c] · image_bytes when the chunk commits.
  struct ChunkCopy {
    char* out;
    std::vector<const char*> own;  // per slot; own[0] is null (slot 0 writes in place)
    size_t image_bytes;
  };
  int Sets() const { return threads_ > 1 ? 2 : 1; }  // of kSummed parts
  int PartSet(int slot) const { return slot == 0 || slot == threads_ ? 0 : 1; }
  void Compute(int64_t c, int slot) const { chunks_[c][slot].Execute(); }
  void Commit(int64_t c, int slot);
  // Called by a thread that has run chunk c: folds into the sums every chunk that has run and
  // whose predecessors are folded, in chunk order, one thread at a time. A part is folded soon
  // after it was written, mostly while it is still in the cache (at the end, summing LeNet's conv2
  // weight gradient over 16 chunks cost 0.25 ms of 5.3 at 2 threads).
  void ChunkRan(int64_t c);
  void Fold(int64_t c);

  std::vector<Tensor> buffers_;
  std::vector<DnnlStep> before_, steps_, after_;
  std::vector<std::vector<DnnlStep>> chunks_;  // AddBatchChunks's: [chunk][slot], after steps_
  int threads_ = 1;                            // AddBatchChunks's
  std::vector<int64_t> chunk_starts_;          // first image of each chunk, then the batch
  std::vector<ChunkCopy> copies_;              // AddBatchChunks's kBatchedOutput arguments
  std::vector<ChunkSum> sums_;                 // AddBatchChunks's kSummed arguments
  std::vector<int> committed_set_;             // per chunk, this Run(): whose parts were committed
  std::unique_ptr<std::atomic<bool>[]> chunk_ran_;  // per chunk, this Run()
  std::atomic<int64_t> folded_{0};                  // chunks folded, this Run()
  std::atomic<bool> folding_{false};                // a thread is folding
  // Last, so that it is destroyed first: it waits for a thread still computing a chunk it lost.
  SpeculativeChunks loop_{[this](int64_t c, int slot) { Compute(c, slot); },
                          [this](int64_t c, int slot) { Commit(c, slot); }};
};

// A batch (axis 0 of N images) cut into chunks for a primitive whose per-image arguments are
// independent (a convolution's forward or data gradient): one primitive per chunk size, created
// for one thread, and every chunk given to whichever thread is free. oneDNN's own threading
// splits a primitive statically, so a thread that shares its core with another process holds up
// every primitive; with chunks it just takes fewer (LeNet's conv2 forward at 2 threads beside a
// busy loop on one core, threads bound: 17.5-18.4 ms against 24.3-26.6 ms split statically, 12.3
// quiet). Chunk boundaries depend on N only, so the result does not depend on the thread count.
//
//   BatchChunks chunks(n);                                        // chunks.count() chunks
//   auto pd = WithOneOpenMpThread([&] { return make_pd(chunks.size(c)); });
//   dnnl::memory part = chunks.Slice(whole_memory, pd.src_desc(), c);  // chunk c's images
struct BatchChunks {
  explicit BatchChunks(int64_t batch);
  int64_t count() const { return static_cast<int64_t>(starts.size()); }
  int64_t size(int64_t c) const { return (c + 1 < count() ? starts[c + 1] : batch) - starts[c]; }
  // The chunk's images of `whole` (whose format keeps axis 0 outermost), described by `part`.
  dnnl::memory Slice(const dnnl::memory& whole, const dnnl::memory::desc& part, int64_t c) const;

  int64_t batch;
  std::vector<int64_t> starts;  // first image of each chunk
};

// The plain format tag (nchw, nhwc, nChw8c or nChw16c) that `desc` has, if any.
std::optional<dnnl::memory::format_tag> ActivationTag(const dnnl::memory::desc& desc);

template <typename Primitive, typename MakePd>
bool DnnlKernel::AddBatchChunks(int64_t batch, int threads, MakePd make_pd,
                                const std::vector<PrimitiveArg>& args) {
  const BatchChunks chunks(batch);
  std::vector<int64_t> sizes;                 // the distinct chunk sizes (at most 2)
  std::vector<decltype(make_pd(batch))> pds;  // one per size
  std::vector<size_t> pd_of(chunks.count());
  for (int64_t c = 0; c < chunks.count(); ++c) {
    auto it = std::find(sizes.begin(), sizes.end(), chunks.size(c));
    if (it == sizes.end()) {
      sizes.push_back(chunks.size(c));
      pds.push_back(WithOneOpenMpThread([&] { return make_pd(chunks.size(c)); }));
      it = sizes.end() - 1;
    }
    pd_of[c] = it - sizes.begin();
  }
  auto md = [](const auto& pd, int arg) { return pd.query_md(dnnl::query::exec_arg_md, arg); };
  auto is_batched = [](Chunking c) {
    return c == Chunking::kBatched || c == Chunking::kBatchedOutput;
  };
  size_t summed_bytes = 0;
  for (const PrimitiveArg& a : args) {
    const dnnl::memory::desc first = md(pds[0], a.arg);
    const bool batched = is_batched(a.chunking);
    if (batched && !ActivationTag(first).has_value()) return false;
    if (a.chunking == Chunking::kSummed) {
      if (first.data_type() != dnnl::memory::data_type::f32) return false;
      summed_bytes += first.get_size() * static_cast<size_t>(chunks.count());
      if (summed_bytes > kMaxSummedBytes) return false;
    }
    for (const auto& pd : pds) {
      if (batched ? ActivationTag(md(pd, a.arg)) != ActivationTag(first) : md(pd, a.arg) != first)
        return false;
    }
  }
  threads_ = threads;
  const int slots = SpeculativeSlots(threads);
  std::vector<dnnl::memory> wholes;
  // A kSummed argument's parts, [chunk · Sets() + set]; a kBatchedOutput one's buffers, per slot.
  std::vector<std::vector<dnnl::memory>> parts(args.size()), own(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const dnnl::memory::desc first = md(pds[0], args[i].arg);
    dnnl::memory::dims dims = first.dims();
    dims[0] = batch;
    wholes.push_back(
        args[i].bind(is_batched(args[i].chunking)
                         ? dnnl::memory::desc(dims, first.data_type(), *ActivationTag(first))
                         : first));
    if (args[i].chunking == Chunking::kBatchedOutput) {
      ChunkCopy copy{static_cast<char*>(wholes[i].get_data_handle()),
                     {},
                     wholes[i].get_desc().get_size() / static_cast<size_t>(batch)};
      size_t largest = 0;  // a chunk's bytes, for the largest chunk size
      for (const auto& pd : pds) largest = std::max(largest, md(pd, args[i].arg).get_size());
      own[i].emplace_back();  // slot 0 writes in place
      copy.own.push_back(nullptr);
      for (int t = 1; t < slots; ++t) {
        own[i].push_back(
            Buffer(dnnl::memory::desc({static_cast<dnnl::memory::dim>(largest)},
                                      dnnl::memory::data_type::u8, dnnl::memory::format_tag::x)));
        copy.own.push_back(static_cast<const char*>(own[i].back().get_data_handle()));
      }
      copies_.push_back(std::move(copy));
    }
    if (args[i].chunking != Chunking::kSummed) continue;
    ChunkSum sum{static_cast<float*>(wholes[i].get_data_handle()),
                 {},
                 static_cast<int64_t>(first.get_size() / sizeof(float))};
    for (int64_t p = 0; p < chunks.count() * Sets(); ++p) {
      parts[i].push_back(Buffer(first));
      sum.parts.push_back(static_cast<const float*>(parts[i].back().get_data_handle()));
    }
    sums_.push_back(std::move(sum));
  }
  size_t scratch_bytes = 0;
  for (const auto& pd : pds)
    scratch_bytes = std::max(scratch_bytes, pd.scratchpad_desc().get_size());
  std::vector<void*> scratch;  // per slot
  for (int t = 0; t < slots && scratch_bytes > 0; ++t) {
    scratch.push_back(
        Buffer(dnnl::memory::desc({static_cast<dnnl::memory::dim>(scratch_bytes)},
                                  dnnl::memory::data_type::u8, dnnl::memory::format_tag::x))
            .get_data_handle());
  }
  std::vector<Primitive> primitives(pds.begin(), pds.end());
  std::vector<std::vector<DnnlStep>> steps(chunks.count());
  for (int64_t c = 0; c < chunks.count(); ++c) {
    const auto& pd = pds[pd_of[c]];
    for (int t = 0; t < slots; ++t) {
      std::vector<std::pair<int, dnnl::memory>> bound;
      for (size_t i = 0; i < args.size(); ++i) {
        switch (args[i].chunking) {
          case Chunking::kWhole:
            bound.push_back({args[i].arg, wholes[i]});
            break;
          case Chunking::kBatched:
            bound.push_back({args[i].arg, chunks.Slice(wholes[i], md(pd, args[i].arg), c)});
            break;
          case Chunking::kBatchedOutput:
            bound.push_back({args[i].arg, t == 0 ? chunks.Slice(wholes[i], md(pd, args[i].arg), c)
                                                 : dnnl::memory(md(pd, args[i].arg), CpuEngine(),
                                                                own[i][t].get_data_handle())});
            break;
          case Chunking::kSummed:
            bound.push_back({args[i].arg, parts[i][c * Sets() + PartSet(t)]});
            break;
        }
      }
      if (!scratch.empty()) {
        bound.push_back(
            {DNNL_ARG_SCRATCHPAD, dnnl::memory(pd.scratchpad_desc(), CpuEngine(), scratch[t])});
      }
      steps[c].emplace_back(primitives[pd_of[c]], std::move(bound));
    }
  }
  FLOWRT_CHECK(chunks_.empty()) << "one chunked step per kernel";
  chunks_ = std::move(steps);
  chunk_starts_ = chunks.starts;
  chunk_starts_.push_back(batch);
  committed_set_.assign(chunks.count(), 0);
  chunk_ran_ = std::make_unique<std::atomic<bool>[]>(chunks.count());
  return true;
}

template <typename Primitive, typename Pd>
void DnnlKernel::AddPrimitive(const Pd& pd, const std::vector<PrimitiveArg>& args) {
  std::vector<std::pair<int, dnnl::memory>> bound;
  for (const PrimitiveArg& a : args) {
    bound.push_back({a.arg, a.bind(pd.query_md(dnnl::query::exec_arg_md, a.arg))});
  }
  Add(Primitive(pd), pd.scratchpad_desc(), std::move(bound));
}

// Runs `make` and turns a dnnl::error (an unsupported configuration) into a Status.
template <typename Fn>
absl::StatusOr<std::unique_ptr<Kernel>> CatchDnnl(Fn&& make) {
  try {
    return make();
  } catch (const dnnl::error& e) {
    return absl::InternalError(std::string("oneDNN: ") + e.what());
  }
}

}  // namespace flow

// A parallel loop whose chunk, held by a thread the kernel took off the CPU, the caller runs
// again itself instead of waiting: each chunk computes into its thread's own memory, and only the
// first of the two to finish publishes it.
//
//   SpeculativeChunks loop_{
//       [this](int64_t image, int thread) { ConvolveInto(scratch_[thread], image); },
//       [this](int64_t image, int thread) { PoolFrom(scratch_[thread], image); }};  // last member
//   loop_.Run(batch, threads);  // every image computed and committed once, on ≤ threads threads
//
// Why (issue 15): beside a busy loop on one of 2 cores, the kernel switches the busy loop and
// flowrt's second thread on its 4 ms tick (`train_step_bench --mode=slices`: 3.98 ms run, 4.02 ms
// wait). When the second thread is taken off in the middle of a chunk, an OpenMP loop's caller
// finishes the other chunks and then waits out the rest of those 4 ms: 3.3–4.6 ms per LeNet step,
// measured. Here, once every chunk is taken, the caller waits for a held chunk only about twice
// as long as a chunk takes, then computes it again into its own scratch; whichever of the two
// finishes first commits, and the other's result is dropped.
//
// The rules for the two calls:
//  - compute(chunk, thread) writes only memory of its own thread (scratch indexed by `thread`). A
//    thread that lost its chunk may still be computing after Run has returned, even while the
//    next Run, or later ops, rewrite the inputs it reads: what it computes then is dropped.
//  - commit(chunk, thread) publishes what compute(chunk, thread) left in that thread's memory. It
//    runs once per chunk, before Run returns, and is short (Run waits for a commit under way).
//  - Both give the same bits on any thread, so the result does not depend on who commits.
//
// The workers are flowrt's own, started at the first Run with more than 1 thread. They sleep on a
// futex between loops. Inside compute and commit, OpenMP (and so oneDNN) sees one thread. A Run
// inside an OpenMP region, or while another thread's Run is under way, computes and commits its
// chunks in order on the calling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace flow {

class SpeculativeChunks {
 public:
  using Call = std::function<void(int64_t chunk, int thread)>;

  SpeculativeChunks(Call compute, Call commit);
  // Waits for a worker still computing a chunk it lost: declare the loop after the memory its
  // calls use, so that it is destroyed first.
  ~SpeculativeChunks();
  SpeculativeChunks(const SpeculativeChunks&) = delete;
  SpeculativeChunks& operator=(const SpeculativeChunks&) = delete;

  // Computes and commits chunks [0, chunks) on at most `threads` threads (the caller is 0).
  void Run(int64_t chunks, int threads);

 private:
  friend class ChunkPool;
  void RunInOrder(int64_t chunks);

  Call compute_;
  Call commit_;
  std::atomic<int> inside_{0};  // workers in compute or commit, the late ones included
};

// For tests: `hook(chunk, thread)` runs before every chunk any thread computes (a test stalls a
// worker there to stand in for the kernel taking it off the CPU); null removes it.
void SetChunkComputeHookForTesting(void (*hook)(int64_t chunk, int thread));

// Pins worker k (k ≥ 1) to cpus[k], as runtime/team_pinning.h does for the OpenMP team, starting
// the workers if needed; cpus[0] is the caller's.
void PinChunkWorkers(const int* cpus, int threads);

}  // namespace flow

// A parallel loop whose chunk, held by a thread the kernel took off the CPU, the caller runs
// again itself instead of waiting: each chunk computes into its thread's own memory, and only the
// first of the two to finish publishes it.
//
//   SpeculativeChunks loop_{
//       [this](int64_t image, int slot) { ConvolveInto(scratch_[slot], image); },
//       [this](int64_t image, int slot) { PoolFrom(scratch_[slot], image); }};  // last member
//   loop_.Run(batch, threads);  // every image computed and committed once, on ≤ threads threads,
//                               // in SpeculativeSlots(threads) slots (a scratch each)
//
// Why (issue 15): beside a busy loop on one of 2 cores, the kernel switches the busy loop and
// flowrt's second thread on its 4 ms tick (`train_step_bench --mode=slices`: 3.98 ms run, 4.02 ms
// wait). When the second thread is taken off in the middle of a chunk, an OpenMP loop's caller
// finishes the other chunks and then waits out the rest of those 4 ms: 3.3–4.6 ms per LeNet step,
// measured. Here, once every chunk is taken, the caller waits for a held chunk only about twice
// as long as a chunk takes, then computes it again into its own scratch; whichever of the two
// finishes first commits, and the other's result is dropped.
//
// The calls take a slot, which names the memory a computation may write:
//  - slot 0: the caller's own chunks. A chunk computed in slot 0 is computed in no other slot, and
//    the caller never runs late, so slot 0 may write the chunk's output in place;
//  - slots 1 to threads − 1: the workers, one each;
//  - slot `threads`: the caller computing again a chunk that a held worker took.
// The rules for the two calls:
//  - compute(chunk, slot) writes only its slot's memory (scratch indexed by the slot), or in slot 0
//    the chunk's output. A worker that lost its chunk may still be computing after Run has
//    returned, even while the next Run, or later ops, rewrite the inputs it reads: what it
//    computes then is dropped.
//  - commit(chunk, slot) publishes what compute(chunk, slot) left in the slot's memory. It runs
//    once per chunk, before Run returns, and is short (Run waits for a commit under way).
//  - Both give the same bits in any slot, so the result does not depend on who commits.
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
  using Call = std::function<void(int64_t chunk, int slot)>;

  SpeculativeChunks(Call compute, Call commit);
  // Waits for a worker still computing a chunk it lost: declare the loop after the memory its
  // calls use, so that it is destroyed first.
  ~SpeculativeChunks();
  SpeculativeChunks(const SpeculativeChunks&) = delete;
  SpeculativeChunks& operator=(const SpeculativeChunks&) = delete;

  // Computes and commits chunks [0, chunks) on at most `threads` threads, in slots 0 to
  // `threads` (in slot 0 only when the pool cannot be used or `threads` is 1).
  void Run(int64_t chunks, int threads);

 private:
  friend class ChunkPool;
  void RunInOrder(int64_t chunks);

  Call compute_;
  Call commit_;
  std::atomic<int> inside_{0};  // workers in compute or commit, the late ones included
};

// The wall seconds that callers have spent in SpeculativeChunks::Run so far (nested runs not
// again), summed over the process's threads: the executor's share of a step in loops that never
// wait for a held thread (the thread governor's chunks-only, runtime/thread_governor.h).
double SpeculativeChunksSeconds();

// How many slots Run(chunks, threads) may use: 0 to threads, or only 0 at 1 thread.
inline int SpeculativeSlots(int threads) { return threads > 1 ? threads + 1 : 1; }

// For tests: `hook(chunk, slot)` runs before every chunk computed in any slot (a test stalls a
// worker there to stand in for the kernel taking it off the CPU); null removes it.
void SetChunkComputeHookForTesting(void (*hook)(int64_t chunk, int slot));

// Pins worker k (k ≥ 1) to cpus[k], as runtime/team_pinning.h does for the OpenMP team, starting
// the workers if needed; cpus[0] is the caller's.
void PinChunkWorkers(const int* cpus, int threads);

}  // namespace flow

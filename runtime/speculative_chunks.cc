#include "runtime/speculative_chunks.h"

#include <immintrin.h>
#include <linux/futex.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "runtime/status.h"

namespace flow {
namespace {

// A chunk's state in the open loop: (epoch << 2) | status. The epoch (odd, one per loop) makes a
// late worker's compare-and-swap fail once its loop has ended.
constexpr uint64_t kFree = 0, kRunning = 1, kCommitting = 2, kDone = 3;
uint64_t Tag(uint32_t epoch, uint64_t status) { return (uint64_t{epoch} << 2) | status; }

// Loops with more chunks run in order on the caller (LeNet's largest has 100: one per image).
constexpr int64_t kMaxChunks = int64_t{1} << 14;
// Threads beyond this many workers get no chunks (their kernels' memory is still there).
constexpr int kMaxWorkers = 255;

// Whether this thread is in a chunk's compute or commit (a Run there runs in order).
thread_local bool in_chunk = false;

std::atomic<void (*)(int64_t, int)> compute_hook{nullptr};
std::atomic<int64_t> run_ns{0};  // SpeculativeChunksSeconds

// compute(c, slot), after the test's hook if one is set.
void Compute(const SpeculativeChunks::Call& compute, int64_t c, int slot) {
  if (auto* hook = compute_hook.load(std::memory_order_relaxed)) hook(c, slot);
  compute(c, slot);
}

using Clock = std::chrono::steady_clock;

int64_t Ns(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

void FutexWait(std::atomic<uint32_t>* word, uint32_t seen) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr,
          0);
}

void FutexWakeAll(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

// OpenMP (and so oneDNN) sees one thread while a chunk runs on the calling thread.
class OneOpenMpThread {
 public:
  OneOpenMpThread() : threads_(omp_get_max_threads()), outer_(in_chunk) {
    if (threads_ != 1) omp_set_num_threads(1);
    in_chunk = true;
  }
  ~OneOpenMpThread() {
    in_chunk = outer_;
    if (threads_ != 1) omp_set_num_threads(threads_);
  }

 private:
  int threads_;
  bool outer_;
};

}  // namespace

// One loop at a time. epoch_ is odd while a loop takes workers. A worker that sees it odd
// registers in active_, checks the epoch again, reads the loop and leaves active_; the caller
// closes the loop (epoch_ even) and waits for active_ to drain before it writes the next loop's
// fields. Both sides use sequentially consistent operations on epoch_ and active_, so one of them
// sees the other.
class ChunkPool {
 public:
  // In static storage, never destroyed (the workers outlive main), and made without a heap
  // allocation: the first call may come from the governor pinning in the middle of training.
  static ChunkPool& Process() {
    alignas(ChunkPool) static unsigned char storage[sizeof(ChunkPool)];
    static ChunkPool* const pool = new (storage) ChunkPool();
    return *pool;
  }

  // False when the loop cannot use the pool (another thread's loop is under way, or too many
  // chunks): then the caller runs it in order.
  bool TryRun(SpeculativeChunks& loop, int64_t count, int threads) {
    if (count > kMaxChunks || busy_.exchange(true, std::memory_order_acquire)) return false;
    EnsureWorkers(threads - 1);
    const uint32_t epoch = epoch_.load(std::memory_order_relaxed) + 1;
    for (int64_t c = 0; c < count; ++c) {
      states_[c].store(Tag(epoch, kFree), std::memory_order_relaxed);
    }
    loop_ = &loop;
    count_ = count;
    team_ = threads;
    next_.store(0, std::memory_order_relaxed);
    epoch_.store(epoch);  // open
    if (sleepers_.load() > 0) FutexWakeAll(&epoch_);

    const OneOpenMpThread one;
    int64_t computed = 0, compute_ns = 0;
    Claim(loop, count, epoch, 0, &computed, &compute_ns);
    epoch_.store(epoch + 1);  // closed: no worker reads the fields from here on
    // A chunk another thread holds longer than this is computed here again.
    const int64_t grace_ns = computed > 0 ? 2 * compute_ns / computed + 20000 : 200000;
    for (int64_t c = 0; c < count; ++c) Settle(loop, c, epoch, threads, grace_ns);
    while (active_.load() != 0) _mm_pause();
    busy_.store(false, std::memory_order_release);
    return true;
  }

  // Pins the workers started so far and remembers the CPUs for those started later. Allocates
  // nothing: the governor pins in the middle of training (tests/runtime/executor_test.cc).
  void Pin(const int* cpus, int threads) {
    std::lock_guard<std::mutex> lock(start_mutex_);
    for (int k = 1; k < threads && k < kMaxWorkers + 1; ++k) {
      pinned_cpu_[k] = cpus[k];
      if (k <= static_cast<int>(workers_.size())) PinWorker(k);
    }
  }

 private:
  ChunkPool() {
    for (int64_t c = 0; c < kMaxChunks; ++c) states_[c].store(Tag(0, kDone));
    pinned_cpu_.fill(-1);
  }

  // Takes chunks from next_ until none is left, or (a worker) until the loop closes. A thread
  // computes its chunks in its own slot: the caller's 0, worker k's k.
  void Claim(SpeculativeChunks& loop, int64_t count, uint32_t epoch, int thread, int64_t* computed,
             int64_t* compute_ns) {
    for (;;) {
      if (thread != 0 && epoch_.load(std::memory_order_relaxed) != epoch) return;
      const int64_t c = next_.fetch_add(1, std::memory_order_relaxed);
      if (c >= count) return;
      uint64_t free = Tag(epoch, kFree);
      if (!states_[c].compare_exchange_strong(free, Tag(epoch, kRunning))) continue;
      const Clock::time_point start = Clock::now();
      Compute(loop.compute_, c, thread);
      if (computed != nullptr) {
        ++*computed;
        *compute_ns += Ns(start, Clock::now());
      }
      Commit(loop, c, epoch, thread);
    }
  }

  // Commits `slot`'s result for chunk c unless another slot got there first.
  void Commit(SpeculativeChunks& loop, int64_t c, uint32_t epoch, int slot) {
    uint64_t running = Tag(epoch, kRunning);
    if (!states_[c].compare_exchange_strong(running, Tag(epoch, kCommitting))) return;
    loop.commit_(c, slot);
    states_[c].store(Tag(epoch, kDone), std::memory_order_release);
  }

  // The caller, once every chunk is taken: returns when chunk c is committed, computing it again
  // in slot `again` if its worker holds it past the grace period.
  void Settle(SpeculativeChunks& loop, int64_t c, uint32_t epoch, int again, int64_t grace_ns) {
    Clock::time_point held_since{};
    bool computed_here = false;
    for (;;) {
      uint64_t state = states_[c].load(std::memory_order_acquire);
      FLOWRT_CHECK_EQ(state >> 2, epoch) << "chunk " << c;
      switch (state & 3) {
        case kDone:
          return;
        case kFree:  // claimed from next_ by a worker that then saw the loop close
          if (states_[c].compare_exchange_strong(state, Tag(epoch, kRunning))) {
            Compute(loop.compute_, c, 0);
            Commit(loop, c, epoch, 0);
          }
          break;
        case kRunning:
          if (computed_here) break;  // a commit is under way, or ours failed to its
          if (held_since == Clock::time_point{}) {
            held_since = Clock::now();
          } else if (Ns(held_since, Clock::now()) > grace_ns) {
            Compute(loop.compute_, c, again);
            computed_here = true;
            Commit(loop, c, epoch, again);
          }
          break;
        default:  // kCommitting: short
          break;
      }
      _mm_pause();
    }
  }

  // Starts workers up to `wanted`. A new worker keeps its creator's CPUs, as libgomp's threads
  // do, unless the governor pinned the team (worker k then goes to its CPU) or the user bound the
  // OpenMP threads (OMP_PROC_BIND: worker k then gets OpenMP thread k's CPUs; its creator, thread
  // 0, is bound to one place).
  void EnsureWorkers(int wanted) {
    wanted = std::min(wanted, kMaxWorkers);
    if (started_.load(std::memory_order_acquire) >= wanted) return;
    std::lock_guard<std::mutex> lock(start_mutex_);
    if (static_cast<int>(workers_.size()) >= wanted) return;
    std::vector<cpu_set_t> bound;
    if (omp_get_proc_bind() != omp_proc_bind_false) {
      bound.resize(wanted + 1);
#pragma omp parallel num_threads(wanted + 1)
      {
        cpu_set_t& mine = bound[omp_get_thread_num()];
        CPU_ZERO(&mine);
        pthread_getaffinity_np(pthread_self(), sizeof mine, &mine);
      }
    }
    while (static_cast<int>(workers_.size()) < wanted) {
      const int thread = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, thread] { Work(thread); });
      if (pinned_cpu_[thread] >= 0) {
        PinWorker(thread);
      } else if (!bound.empty()) {
        pthread_setaffinity_np(workers_.back().native_handle(), sizeof(cpu_set_t), &bound[thread]);
      }
    }
    started_.store(static_cast<int>(workers_.size()), std::memory_order_release);
  }

  void PinWorker(int k) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(pinned_cpu_[k], &one);
    pthread_setaffinity_np(workers_[k - 1].native_handle(), sizeof one, &one);
  }

  void Work(int thread) {
    omp_set_num_threads(1);
    in_chunk = true;
    uint32_t seen = 0;
    for (;;) {
      seen = WaitForChange(seen);
      if ((seen & 1) == 0) continue;
      SpeculativeChunks* loop = nullptr;
      int64_t count = 0;
      active_.fetch_add(1);
      if (epoch_.load() == seen && thread < team_) {
        loop = loop_;
        count = count_;
        loop->inside_.fetch_add(1);  // before leaving active_: the loop outlives this
      }
      active_.fetch_sub(1, std::memory_order_release);
      if (loop == nullptr) continue;
      Claim(*loop, count, seen, thread, nullptr, nullptr);
      loop->inside_.fetch_sub(1, std::memory_order_release);
    }
  }

  // Sleeps on the futex until epoch_ is no longer `seen`.
  uint32_t WaitForChange(uint32_t seen) {
    uint32_t now = epoch_.load(std::memory_order_acquire);
    if (now != seen) return now;
    sleepers_.fetch_add(1);
    while ((now = epoch_.load()) == seen) FutexWait(&epoch_, seen);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return now;
  }

  std::atomic<bool> busy_{false};
  std::atomic<uint32_t> epoch_{0};
  std::atomic<int> active_{0};
  std::atomic<int> sleepers_{0};
  // The open loop, written by its caller before the epoch turns odd.
  SpeculativeChunks* loop_ = nullptr;
  int64_t count_ = 0;
  int team_ = 0;
  std::atomic<int64_t> next_{0};
  std::array<std::atomic<uint64_t>, kMaxChunks> states_;

  std::array<int, kMaxWorkers + 1> pinned_cpu_;  // [k]: worker k's CPU, or -1 (not pinned)
  std::mutex start_mutex_;
  std::atomic<int> started_{0};
  std::vector<std::thread> workers_;  // worker k - 1 is thread k; never joined
};

SpeculativeChunks::SpeculativeChunks(Call compute, Call commit)
    : compute_(std::move(compute)), commit_(std::move(commit)) {}

SpeculativeChunks::~SpeculativeChunks() {
  while (inside_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

void SpeculativeChunks::Run(int64_t chunks, int threads) {
  if (chunks <= 0) return;
  const bool nested = in_chunk;  // counted in its outer loop's time already
  const Clock::time_point start = Clock::now();
  if (threads <= 1 || chunks <= 1 || nested || omp_in_parallel() ||
      !ChunkPool::Process().TryRun(*this, chunks, threads)) {
    RunInOrder(chunks);
  }
  if (!nested) run_ns.fetch_add(Ns(start, Clock::now()), std::memory_order_relaxed);
}

double SpeculativeChunksSeconds() { return run_ns.load(std::memory_order_relaxed) * 1e-9; }

void SpeculativeChunks::RunInOrder(int64_t chunks) {
  // As thread 0: the memory of one thread is all a 1-thread kernel has, and no other thread runs
  // this loop now.
  const OneOpenMpThread one;
  for (int64_t c = 0; c < chunks; ++c) {
    Compute(compute_, c, 0);
    commit_(c, 0);
  }
}

void SetChunkComputeHookForTesting(void (*hook)(int64_t chunk, int slot)) {
  compute_hook.store(hook);
}

void PinChunkWorkers(const int* cpus, int threads) {
  if (threads > 1) ChunkPool::Process().Pin(cpus, threads);
}

}  // namespace flow

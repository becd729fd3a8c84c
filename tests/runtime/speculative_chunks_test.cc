// SpeculativeChunks (runtime/speculative_chunks.h): every chunk committed once with the result its
// committing thread computed; a chunk held by a stalled worker is computed again by the caller,
// whose Run then returns, and the worker's late result is dropped; in-order runs where a pool
// cannot be used; workers pinned like the OpenMP team.
#include "runtime/speculative_chunks.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "tests/testing/await_flag.h"
#include "tests/testing/thread_cpus.h"

namespace flow {
namespace {

using testing::AwaitFlag;

// The CPUs of the worker that runs chunk 1 of a 2-thread loop whose caller holds chunk 0 until
// then; nullopt when no worker came.
std::optional<cpu_set_t> FirstWorkersCpus() {
  std::atomic<bool> worker_ran{false};
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  SpeculativeChunks loop(
      [&](int64_t c, int t) {
        if (c == 0 && t == 0) AwaitFlag(worker_ran);
        if (t == 1) {
          cpus = testing::ThreadCpus();
          worker_ran = true;
        }
      },
      [](int64_t, int) {});
  loop.Run(2, 2);
  if (!worker_ran.load()) return std::nullopt;
  return cpus;
}

// compute(c, t) leaves f(c) in slot t; commit(c, t) copies slot t to out[c] and counts.
struct Recorder {
  explicit Recorder(int64_t chunks) : out(chunks, -1), commits(chunks) {}
  static int64_t F(int64_t c) { return 7 * c + 1; }
  std::vector<int64_t> slots = std::vector<int64_t>(8, -1);
  std::vector<int64_t> out;
  std::vector<std::atomic<int>> commits;
  std::atomic<int> bad_thread{0};
};

TEST(SpeculativeChunksTest, CommitsEveryChunkOnceWithItsThreadsResult) {
  for (int threads : {1, 2, 3, 4}) {
    for (int64_t chunks : {1, 2, 3, 7, 16, 100}) {
      Recorder r(chunks);
      SpeculativeChunks loop(
          [&](int64_t c, int t) {
            if (t < 0 || t >= SpeculativeSlots(threads)) r.bad_thread.fetch_add(1);
            r.slots[t] = Recorder::F(c);
          },
          [&](int64_t c, int t) {
            r.out[c] = r.slots[t];
            r.commits[c].fetch_add(1);
          });
      for (int round = 0; round < 50; ++round) {
        for (int64_t c = 0; c < chunks; ++c) {
          r.out[c] = -1;
          r.commits[c] = 0;
        }
        loop.Run(chunks, threads);
        for (int64_t c = 0; c < chunks; ++c) {
          ASSERT_EQ(r.commits[c].load(), 1) << "chunk " << c << " of " << chunks << ", " << threads
                                            << " threads, round " << round;
          ASSERT_EQ(r.out[c], Recorder::F(c)) << "chunk " << c;
        }
        ASSERT_EQ(r.bad_thread.load(), 0);
      }
    }
  }
}

TEST(SpeculativeChunksTest, CountsTheCallersTimeInRunOnceForNestedRuns) {
  // 2 outer chunks in order, each running an inner loop of 2 chunks that sleep 5 ms: 20 ms in
  // all, counted once (the inner runs are inside the outer one's time).
  SpeculativeChunks inner(
      [](int64_t, int) { std::this_thread::sleep_for(std::chrono::milliseconds(5)); },
      [](int64_t, int) {});
  SpeculativeChunks outer([&](int64_t, int) { inner.Run(2, 2); }, [](int64_t, int) {});
  const double before = SpeculativeChunksSeconds();
  const auto start = std::chrono::steady_clock::now();
  outer.Run(2, 1);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double counted = SpeculativeChunksSeconds() - before;
  EXPECT_GE(counted, 0.020);
  EXPECT_LE(counted, wall);
}

TEST(SpeculativeChunksTest, ZeroChunksRunNothing) {
  int calls = 0;
  SpeculativeChunks loop([&](int64_t, int) { ++calls; }, [&](int64_t, int) { ++calls; });
  loop.Run(0, 2);
  EXPECT_EQ(calls, 0);
}

TEST(SpeculativeChunksTest, TheCallerComputesAgainAChunkAStalledWorkerHolds) {
  // The caller holds chunk 0 until a worker has started chunk 1; that worker then stalls until
  // the test lets it go, after Run has returned.
  std::atomic<bool> worker_started{false}, release_worker{false}, worker_done{false};
  std::atomic<int> commits[2] = {0, 0};
  std::atomic<int> committed_by[2] = {-1, -1};
  std::atomic<bool> timed_out{false};
  auto loop = std::make_unique<SpeculativeChunks>(
      [&](int64_t c, int t) {
        if (c == 0 && t == 0 && !AwaitFlag(worker_started)) timed_out = true;
        if (c == 1 && t == 1) {
          worker_started = true;
          if (!AwaitFlag(release_worker)) timed_out = true;
          worker_done = true;
        }
      },
      [&](int64_t c, int t) {
        commits[c].fetch_add(1);
        committed_by[c] = t;
      });
  auto run = std::async(std::launch::async, [&] { loop->Run(2, 2); });
  const bool returned = run.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  release_worker = true;  // lets the worker finish either way
  run.wait();
  ASSERT_TRUE(returned) << "Run waited for the stalled worker";
  ASSERT_FALSE(timed_out.load());
  EXPECT_EQ(commits[0].load(), 1);
  EXPECT_EQ(commits[1].load(), 1);
  EXPECT_EQ(committed_by[1].load(), 2) << "chunk 1 was not committed from the caller's slot 2";
  loop.reset();  // waits for the worker to leave its compute
  EXPECT_TRUE(worker_done.load());
  EXPECT_EQ(commits[1].load(), 1) << "the late worker committed its dropped result";
}

TEST(SpeculativeChunksTest, ALateWorkerDoesNotDisturbTheNextRun) {
  // Chunk 1 of the first Run stalls on its worker and is taken over; the second Run starts while
  // that worker is still in it, and must commit each of its chunks once with its own values.
  std::atomic<bool> worker_started{false}, release_worker{false};
  std::atomic<int> generation{0};
  std::vector<int64_t> slots(3, -1), out(16, -1);
  std::vector<std::atomic<int>> commits(16);
  SpeculativeChunks loop(
      [&](int64_t c, int t) {
        const int g = generation.load();
        if (g == 0 && c == 0 && t == 0) AwaitFlag(worker_started);
        if (g == 0 && c == 1 && t == 1) {
          worker_started = true;
          AwaitFlag(release_worker);
        }
        slots[t] = 1000 * g + c;
      },
      [&](int64_t c, int t) {
        out[c] = slots[t];
        commits[c].fetch_add(1);
      });
  loop.Run(2, 2);
  generation = 1;
  for (auto& n : commits) n = 0;
  loop.Run(16, 2);  // the stalled worker is still in the first Run's chunk 1
  release_worker = true;
  for (int64_t c = 0; c < 16; ++c) {
    EXPECT_EQ(commits[c].load(), 1) << "chunk " << c;
    EXPECT_EQ(out[c], 1000 + c) << "chunk " << c;
  }
}

TEST(SpeculativeChunksTest, OpenMpSeesOneThreadInsideAndItsCountAfter) {
  omp_set_num_threads(2);
  std::atomic<int> max_seen{0};
  auto see = [&](int64_t, int) {
    const int seen = omp_get_max_threads();
    int prev = max_seen.load();
    while (seen > prev && !max_seen.compare_exchange_weak(prev, seen)) {
    }
  };
  SpeculativeChunks loop(see, see);
  loop.Run(8, 2);
  EXPECT_EQ(max_seen.load(), 1);
  EXPECT_EQ(omp_get_max_threads(), 2);
}

TEST(SpeculativeChunksTest, ANestedRunGoesInOrderAsThreadZero) {
  std::atomic<int> inner_calls{0}, inner_not_zero{0}, out_of_order{0};
  thread_local int64_t last = -1;
  SpeculativeChunks inner(
      [&](int64_t c, int t) {
        if (t != 0) inner_not_zero.fetch_add(1);
        if (c != last + 1) out_of_order.fetch_add(1);
        last = c;
      },
      [&](int64_t, int) { inner_calls.fetch_add(1); });
  SpeculativeChunks outer(
      [&](int64_t, int) {
        last = -1;
        inner.Run(5, 2);
      },
      [](int64_t, int) {});
  outer.Run(4, 2);
  EXPECT_GE(inner_calls.load(), 20);  // ≥: the caller may compute an outer chunk again
  EXPECT_EQ(inner_calls.load() % 5, 0);
  EXPECT_EQ(inner_not_zero.load(), 0);
  EXPECT_EQ(out_of_order.load(), 0);
}

TEST(SpeculativeChunksTest, ARunInsideAnOpenMpRegionGoesInOrderOnItsThread) {
  std::atomic<int> commits{0}, not_zero{0}, team{0};
  SpeculativeChunks loop(
      [&](int64_t, int t) {
        if (t != 0) not_zero.fetch_add(1);
      },
      [&](int64_t, int) { commits.fetch_add(1); });
#pragma omp parallel num_threads(2)
  {
    if (omp_get_thread_num() == 0) team = omp_get_num_threads();
#pragma omp critical
    loop.Run(3, 2);
  }
  EXPECT_EQ(commits.load(), 3 * team.load());
  EXPECT_EQ(not_zero.load(), 0);
}

TEST(SpeculativeChunksTest, TwoCallersAtOnceBothCommitEveryChunk) {
  // Two jobs' executors on two user threads: one gets the pool, the other runs in order.
  constexpr int kRounds = 2000;
  std::atomic<int64_t> sums[2] = {0, 0};
  auto caller = [&](int id) {
    SpeculativeChunks loop([](int64_t, int) {},
                           [&, id](int64_t c, int) { sums[id].fetch_add(c + 1); });
    for (int round = 0; round < kRounds; ++round) loop.Run(10, 2);
  };
  std::thread a(caller, 0), b(caller, 1);
  a.join();
  b.join();
  EXPECT_EQ(sums[0].load(), int64_t{55} * kRounds);
  EXPECT_EQ(sums[1].load(), int64_t{55} * kRounds);
}

TEST(SpeculativeChunksTest, PinsAWorkerToTheCpuItIsGiven) {
  const cpu_set_t mine = testing::ThreadCpus();
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &mine)) cpus.push_back(cpu);
  }
  if (cpus.size() < 2) GTEST_SKIP() << "fewer than 2 CPUs";
  PinChunkWorkers(cpus.data(), 2);
  const std::optional<cpu_set_t> worker_cpus = FirstWorkersCpus();
  ASSERT_TRUE(worker_cpus.has_value()) << "no worker took chunk 1";
  EXPECT_EQ(CPU_COUNT(&*worker_cpus), 1);
  EXPECT_TRUE(CPU_ISSET(cpus[1], &*worker_cpus));
  const cpu_set_t after = testing::ThreadCpus();  // the caller's CPUs are not touched
  EXPECT_TRUE(CPU_EQUAL(&mine, &after));
}

// Run by CTest with OMP_PROC_BIND=true (tests/CMakeLists.txt); skipped without a binding. The
// pool's first worker is made by the caller, which libgomp bound to one place: the worker must
// get OpenMP thread 1's CPUs, not its creator's.
TEST(SpeculativeChunksTest, UnderOmpProcBindAWorkerGetsItsOpenMpThreadsCpus) {
  if (omp_get_proc_bind() == omp_proc_bind_false) GTEST_SKIP() << "run with OMP_PROC_BIND=true";
  cpu_set_t openmp[2];
  int team = 0;
#pragma omp parallel num_threads(2)
  {
    openmp[omp_get_thread_num()] = testing::ThreadCpus();
    if (omp_get_thread_num() == 0) team = omp_get_num_threads();
  }
  if (team < 2 || CPU_EQUAL(&openmp[0], &openmp[1])) GTEST_SKIP() << "one place";
  const std::optional<cpu_set_t> worker_cpus = FirstWorkersCpus();
  ASSERT_TRUE(worker_cpus.has_value()) << "no worker took chunk 1";
  EXPECT_TRUE(CPU_EQUAL(&*worker_cpus, &openmp[1]));
}

}  // namespace
}  // namespace flow

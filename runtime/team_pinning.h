// Pins the OpenMP team's threads to distinct CPUs, thread k to the k-th CPU the process may run
// on, and lets the calling thread go again: what the thread governor (runtime/thread_governor.h)
// asks for once its threads are preempted or share a core.
//
//   TeamPinning& pinning = TeamPinning::Process();
//   if (pinning.available(2)) pinning.Pin(2);  // thread 0 on the first CPU, thread 1 on the second
//   pinning.Unpin();                         // the calling thread on all its CPUs again (1 thread)
//
// One per process, since the threads are the process's: a job's executor that runs a step on
// 1 thread unpins the calling thread that another job's executor pinned.
//
// Why: beside a busy loop on one of 2 cores, Linux mostly keeps both of flowrt's threads on the
// free core (a thread wakes where it slept), where two threads cost what one does. Pinned, one
// thread has the free core to itself and the other takes fewer of the dynamically shared chunks
// (AMD EPYC Zen 5, 2 threads, ms per step: LeNet 33–36 pinned by OMP_PROC_BIND=true against 38
// unbound, 37 at 1 thread; the MLP 0.73–0.78 against 1.03, 0.91 at 1 thread). One thread must not
// stay pinned: on the busy core it takes twice as long (LeNet 78 ms), hence Unpin.
//
// A binding the user asked for (OMP_PROC_BIND, OMP_PLACES) is theirs: then nothing is available.
#pragma once

#include <sched.h>

#include <vector>

namespace flow {

class TeamPinning {
 public:
  // The process's, made at the first call: it remembers the calling thread's CPUs then.
  static TeamPinning& Process();
  // Tests make their own.
  TeamPinning();

  // Whether Pin(threads) can give each thread a CPU of its own.
  bool available(int threads) const;
  // Runs an OpenMP region of `threads` in which each thread pins itself. libgomp keeps its team's
  // threads from region to region, so the pins hold for the kernels' regions that follow. Worker
  // k of flowrt's own pool (runtime/speculative_chunks.h) goes to the k-th CPU too.
  void Pin(int threads);
  // The calling thread on all the CPUs it had at construction.
  void Unpin();
  bool pinned() const { return pinned_; }

 private:
  cpu_set_t all_;
  std::vector<int> cpus_;  // the CPUs of all_, in order
  bool user_binding_;
  bool pinned_ = false;
};

}  // namespace flow

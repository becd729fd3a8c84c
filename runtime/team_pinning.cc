#include "runtime/team_pinning.h"

#include <omp.h>
#include <pthread.h>

#include "runtime/speculative_chunks.h"

namespace flow {

TeamPinning& TeamPinning::Process() {
  static TeamPinning* const pinning = new TeamPinning();
  return *pinning;
}

TeamPinning::TeamPinning() : user_binding_(omp_get_proc_bind() != omp_proc_bind_false) {
  CPU_ZERO(&all_);
  if (sched_getaffinity(0, sizeof all_, &all_) != 0) return;  // cpus_ stays empty: unavailable
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &all_)) cpus_.push_back(cpu);
  }
}

bool TeamPinning::available(int threads) const {
  return !user_binding_ && threads > 1 && static_cast<int>(cpus_.size()) >= threads;
}

void TeamPinning::Pin(int threads) {
  if (!available(threads)) return;
#pragma omp parallel num_threads(threads)
  {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus_[omp_get_thread_num()], &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
  }
  PinChunkWorkers(cpus_.data(), threads);
  pinned_ = true;
}

void TeamPinning::Unpin() {
  if (!pinned_) return;
  sched_setaffinity(0, sizeof all_, &all_);
  pinned_ = false;
}

}  // namespace flow

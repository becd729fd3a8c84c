#include "runtime/openmp_wait_policy.h"

#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace flow {
namespace {

// The spin count flowrt chooses (the header says why).
constexpr char kSpinCount[] = "1000";
// Set with GOMP_SPINCOUNT by UseBoundedOpenMpWait, so reports can tell flowrt's choice from
// the user's.
constexpr char kMarker[] = "FLOWRT_OMP_WAIT_POLICY_SET";

// The CPUs of every OpenMP place, or none (an empty set) when there are no places.
cpu_set_t PlacesCpus() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int place = 0; place < omp_get_num_places(); ++place) {
    std::vector<int> ids(omp_get_place_num_procs(place));
    omp_get_place_proc_ids(place, ids.data());
    for (int id : ids) {
      if (id >= 0 && id < CPU_SETSIZE) CPU_SET(id, &cpus);
    }
  }
  return cpus;
}

}  // namespace

void UseBoundedOpenMpWait(char** argv) {
  if (getenv("OMP_WAIT_POLICY") != nullptr || getenv("GOMP_SPINCOUNT") != nullptr) return;
  setenv("GOMP_SPINCOUNT", kSpinCount, 1);
  setenv(kMarker, "1", 1);
  // When the user asks for thread binding (OMP_PROC_BIND, OMP_PLACES or GOMP_CPU_AFFINITY),
  // libgomp has already bound this thread to the first place. The new image would inherit that
  // mask, and its libgomp would build every place from it: all threads on the first place's CPUs
  // (OMP_PROC_BIND=true made LeNet's 2-thread step 1.9x slower, both threads on CPU 0). So the
  // thread gets back the CPUs of all places first, from which libgomp made them.
  if (omp_get_proc_bind() != omp_proc_bind_false) {
    const cpu_set_t cpus = PlacesCpus();
    if (CPU_COUNT(&cpus) > 0) sched_setaffinity(0, sizeof cpus, &cpus);
  }
  execv("/proc/self/exe", argv);
  unsetenv("GOMP_SPINCOUNT");  // exec failed: carry on with libgomp's default
  unsetenv(kMarker);
}

std::string OpenMpWaitPolicy() {
  const char* policy = getenv("OMP_WAIT_POLICY");
  const char* spin = getenv("GOMP_SPINCOUNT");
  if (spin != nullptr && policy == nullptr && getenv(kMarker) != nullptr)
    return std::string("GOMP_SPINCOUNT=") + spin + " (flowrt's default)";
  std::string user;
  if (policy != nullptr) user = std::string("OMP_WAIT_POLICY=") + policy;
  if (spin != nullptr) user += (user.empty() ? "" : " ") + std::string("GOMP_SPINCOUNT=") + spin;
  return user.empty() ? "libgomp default (spin ~3 ms)" : user + " (user)";
}

std::string OpenMpBinding() {
  if (omp_get_proc_bind() == omp_proc_bind_false) return "none (the kernel places the threads)";
  const cpu_set_t cpus = PlacesCpus();
  return absl::StrCat("OMP_PROC_BIND ", omp_get_proc_bind(), ", ", omp_get_num_places(),
                      " places over ", CPU_COUNT(&cpus), " CPUs");
}

}  // namespace flow

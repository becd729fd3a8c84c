#include "runtime/openmp_wait_policy.h"

#include <stdlib.h>
#include <unistd.h>

namespace flow {
namespace {

// The spin count flowrt chooses (the header says why).
constexpr char kSpinCount[] = "1000";
// Set with GOMP_SPINCOUNT by UseBoundedOpenMpWait, so reports can tell flowrt's choice from
// the user's.
constexpr char kMarker[] = "FLOWRT_OMP_WAIT_POLICY_SET";

}  // namespace

void UseBoundedOpenMpWait(char** argv) {
  if (getenv("OMP_WAIT_POLICY") != nullptr || getenv("GOMP_SPINCOUNT") != nullptr) return;
  setenv("GOMP_SPINCOUNT", kSpinCount, 1);
  setenv(kMarker, "1", 1);
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

}  // namespace flow

#include "runtime/openmp_wait_policy.h"

#include <stdlib.h>
#include <unistd.h>

namespace flow {
namespace {

// Set with OMP_WAIT_POLICY by UsePassiveOpenMpWait, so reports can tell flowrt's choice from
// the user's.
constexpr char kMarker[] = "FLOWRT_OMP_WAIT_POLICY_SET";

}  // namespace

void UsePassiveOpenMpWait(char** argv) {
  if (getenv("OMP_WAIT_POLICY") != nullptr || getenv("GOMP_SPINCOUNT") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  setenv(kMarker, "1", 1);
  execv("/proc/self/exe", argv);
  unsetenv("OMP_WAIT_POLICY");  // exec failed: carry on with libgomp's default
  unsetenv(kMarker);
}

std::string OpenMpWaitPolicy() {
  const char* policy = getenv("OMP_WAIT_POLICY");
  const char* spin = getenv("GOMP_SPINCOUNT");
  if (policy != nullptr && getenv(kMarker) != nullptr)
    return std::string(policy) + " (flowrt's default)";
  std::string user;
  if (policy != nullptr) user = std::string("OMP_WAIT_POLICY=") + policy;
  if (spin != nullptr) user += (user.empty() ? "" : " ") + std::string("GOMP_SPINCOUNT=") + spin;
  return user.empty() ? "libgomp default (spin ~3 ms)" : user + " (user)";
}

}  // namespace flow

// The OpenMP wait policy of flowrt's own programs (issue 15): passive, unless the user chose one.
//
//   int main(int argc, char** argv) {
//     flow::UsePassiveOpenMpWait(argv);  // first statement: may re-execute the program
//     ...
//     std::cout << flow::OpenMpWaitPolicy();  // "passive (flowrt's default)"
//
// Why: libgomp's default makes a thread that waits at a barrier or for the next parallel region
// spin for about 3 ms (GOMP_SPINCOUNT 300000) before it sleeps. On a shared machine that time is
// taken from the neighbour, or from flowrt's own other thread, which then misses the barrier;
// the scheduler cannot move a thread onto a core that looks busy. Measured on a loaded 2-core
// AMD EPYC Zen 3 (tools/bench/RESULTS.md, issue 15): the MLP step at 2 threads took 268–405 ms
// with the default, 14–56 ms with GOMP_SPINCOUNT=10000, 7.6–12 ms with 1000 and 3.6–10.8 ms
// passive (1 thread: 27–47 ms); LeNet 1681–2192 ms default, 520–816 ms passive.
//
// How: libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, in its constructor, before main
// runs, and offers no call to change it later (a setenv from the executable's .preinit_array,
// which runs earlier, does not reach it either: tried with glibc 2.36). So UsePassiveOpenMpWait
// sets OMP_WAIT_POLICY=passive and re-executes /proc/self/exe with the same arguments, once, when
// neither variable is set. A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is kept. Programs that
// link libflowrt without calling it keep libgomp's default (the README tells them to set
// OMP_WAIT_POLICY=passive on a shared machine, or to call this).
#pragma once

#include <string>

namespace flow {

// Call first in main, before any OpenMP or oneDNN use. Returns only if the policy was already
// chosen or the re-execution failed (then the default stays; nothing else changes).
void UsePassiveOpenMpWait(char** argv);

// The policy this process runs with, for reports: "passive (flowrt's default)",
// "OMP_WAIT_POLICY=active (user)", "GOMP_SPINCOUNT=1000 (user)" or "libgomp default (spin ~3 ms)".
std::string OpenMpWaitPolicy();

}  // namespace flow

// The OpenMP wait policy of flowrt's own programs (issue 15): a short bounded spin, unless the
// user chose one.
//
//   int main(int argc, char** argv) {
//     flow::UseBoundedOpenMpWait(argv);  // first statement: may re-execute the program
//     ...
//     std::cout << flow::OpenMpWaitPolicy();  // "GOMP_SPINCOUNT=1000 (flowrt's default)"
//
// Why: a thread that waits for the next parallel region either spins or sleeps in the kernel.
//  - libgomp's default spins for about 3 ms (GOMP_SPINCOUNT 300000) before it sleeps. On a shared
//    machine that time is taken from the neighbour, or from flowrt's own other thread, which then
//    misses the barrier: on a loaded 2-core AMD EPYC Zen 3 the MLP step at 2 threads took
//    268–405 ms with it, 3.6–10.8 ms passive (tools/bench/RESULTS.md, issue 15).
//  - Passive (sleep at once) makes every parallel region that follows even 20 µs of serial work
//    pay a futex wake-up, about 100 µs on that VM (an empty 2-thread region after a 20 µs gap:
//    passive 116 µs, 1000 spins about 1–30 µs). A training step opens dozens of regions: quiet,
//    the MLP step at 2 threads took 2.9–4.6 ms passive against 2.8–3.0 ms at 1 thread.
//  - 1000 spins (tens of µs on Zen 3) keep the team awake across the short gaps between the ops
//    of a step and let it sleep between steps. Measured in the same run, 3 rounds (ms, medians):
//    quiet MLP 2T 2.45 (1T 2.85, passive 4.09), LeNet 2T 69.7 (passive 73.7); beside a busy loop
//    pinned to one core, MLP 2T 3.91 (passive 3.54), LeNet 2T 111 (passive 115).
//
// How: libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, in its constructor, before main
// runs, and offers no call to change it later (a setenv from the executable's .preinit_array,
// which runs earlier, does not reach it either: tried with glibc 2.36). So UseBoundedOpenMpWait
// sets GOMP_SPINCOUNT=1000 and re-executes /proc/self/exe with the same arguments, once, when
// neither variable is set. A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is kept, and so is a
// thread binding the user asked for (the re-executed program gets the CPUs of all the places).
// Programs that link libflowrt without calling it keep libgomp's default (the README tells them to
// set GOMP_SPINCOUNT=1000 on a shared machine, or to call this).
#pragma once

#include <string>

namespace flow {

// Call first in main, before any OpenMP or oneDNN use. Returns only if the policy was already
// chosen or the re-execution failed (then the default stays; nothing else changes).
void UseBoundedOpenMpWait(char** argv);

// The policy this process runs with, for reports: "GOMP_SPINCOUNT=1000 (flowrt's default)",
// "OMP_WAIT_POLICY=passive (user)", "GOMP_SPINCOUNT=300 (user)" or "libgomp default (spin ~3 ms)".
std::string OpenMpWaitPolicy();

// The thread binding this process runs with, for reports: "none (the kernel places the threads)"
// or, when the user asked for binding, "OMP_PROC_BIND 1, 2 places over 2 CPUs" (OpenMP's
// omp_proc_bind_t: 1 true, 2 master, 3 close, 4 spread).
std::string OpenMpBinding();

}  // namespace flow

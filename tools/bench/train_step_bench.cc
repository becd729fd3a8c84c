// Training-step benchmark of flowrt's LeNet / MLP jobs, the flowrt side of tools/bench/run.sh
// (train_step_bench.py is the PyTorch mirror; both print one "RESULT key=value ..." line that
// tools/bench/report.py collects).
//
//   train_step_bench --mode=step --model=lenet --threads=2 --batch=100 --warmup=3 --iters=20
//   train_step_bench --mode=step --model=mlp --profile      # plus per-op ms (report/op_profile.h)
//   train_step_bench --mode=epoch --model=lenet --threads=2 --data=data/mnist
//   train_step_bench --mode=probe --threads=2               # FMA peak GFLOP/s (the roofline)
//   train_step_bench --mode=slices --slice_cpu=1            # how a thread on CPU 1 gets its time
//   FLOWRT_BENCH_EXEC_TIME=$EPOCHREALTIME exec train_step_bench --mode=startup --model=lenet
//
// step:  the seed's train job (truncated_normal(0.1) kernels, zero biases, SGD lr 0.1 momentum 0,
//        LeNet dropout 0.5) on one fixed batch (the first MNIST images, see FillBatch); times each
//        RunInPlace (forward + backward
//        + update, fetches not copied) after the warm-up.
// epoch: load_mnist from the IDX files (timed) + one training epoch in file order, batch 100.
// startup: process start (see ExecTime) to the end of the first training step, in parts: the
//        loader and static initialisers before main, load_mnist, build + compile, first step.
// probe: every thread runs a loop of independent FMAs (AVX-512 if the CPU has it, and AVX2; the
//        faster counts) for about --probe_seconds; prints the aggregate GFLOP/s per wall second
//        and the per-core peak per CPU second of a thread (robust to a busy machine).
#include <omp.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "data/mnist.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "jobs/models.h"
#include "report/cpu_peak.h"
#include "report/op_profile.h"
#include "runtime/executor.h"
#include "runtime/openmp_wait_policy.h"

ABSL_FLAG(std::string, mode, "step", "step | epoch | startup | probe | slices");
ABSL_FLAG(std::string, model, "lenet", "lenet | mlp");
ABSL_FLAG(int, threads, 1, "OpenMP threads (session threads)");
ABSL_FLAG(bool, adapt_threads, false,
          "step mode: SessionOptions::adapt_threads (each step on --threads or 1 thread, "
          "whichever ran faster lately): the session's default, off here so that a step row "
          "measures the thread count it names; the epoch and startup modes keep the default");
ABSL_FLAG(int, batch, 100, "batch size (step mode; epoch mode uses 100)");
ABSL_FLAG(int, warmup, 3, "untimed steps first");
ABSL_FLAG(double, warmup_ms, 500,
          "and untimed steps until this much time has passed: on a 2-core VM the first ~0.1 s of "
          "a 2-thread run went at half speed (the MLP's first 20 steps 4.0 ms, from step 40 on "
          "0.65-0.72 ms), whatever the step count");
ABSL_FLAG(int, iters, 20, "timed steps");
ABSL_FLAG(float, dropout, 0.5f, "LeNet's dropout rate in training");
ABSL_FLAG(std::string, data, "data/mnist",
          "MNIST directory: the epoch's data; step mode takes its first --batch images");
ABSL_FLAG(bool, profile, false, "step mode: also print per-op ms");
ABSL_FLAG(double, probe_seconds, 1.0, "probe mode: seconds per ISA; slices mode: seconds");
ABSL_FLAG(int, slice_cpu, -1, "slices mode: the CPU to spin on (default: the last one)");

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // KiB on Linux
}

// User + system CPU seconds of this process (all threads): run.sh subtracts it from the machine's
// busy time to measure what other processes used while this one ran.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The seed's train job around a models.h model.
flow::JobFunction MakeTrainJob(flow::Session& session, const flow::jobs::Model* model, int batch,
                               float dropout) {
  auto logits_fn = model->logits;
  return flow::global_function(
      session, "train_job", flow::JobType::kTrain,
      [logits_fn, dropout](flow::Blob images, flow::Blob labels) {
        flow::Blob logits = logits_fn(images, {.train = true, .dropout = dropout});
        flow::Blob loss = flow::nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({}, {0.1f}),
                             {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      flow::Placeholder({batch, 1, 28, 28}, flow::kFloat),
      flow::Placeholder({batch}, flow::kInt32));
}

// The step batch: the first `batch` training images of MNIST (uint8 / 255) with their labels when
// --data has them, else a deterministic synthetic batch; train_step_bench.py builds the same one.
// Real digits keep the repeated-batch training sane (a dense synthetic batch diverges at lr 0.1,
// and NaNs/denormals would distort the timing). Returns what it used.
std::string FillBatch(const std::string& dir, flow::Tensor& images, flow::Tensor& labels) {
  const int64_t n = labels.num_elements();
  std::ifstream x_file(dir + "/train-images-idx3-ubyte", std::ios::binary);
  std::ifstream y_file(dir + "/train-labels-idx1-ubyte", std::ios::binary);
  std::vector<unsigned char> x_header(16), y_header(8), pixels(n * 784), digits(n);
  if (x_file.read(reinterpret_cast<char*>(x_header.data()), 16) &&
      y_file.read(reinterpret_cast<char*>(y_header.data()), 8) && x_header[2] == 8 &&
      x_header[3] == 3 && y_header[2] == 8 && y_header[3] == 1 &&
      x_file.read(reinterpret_cast<char*>(pixels.data()), n * 784) &&
      y_file.read(reinterpret_cast<char*>(digits.data()), n)) {
    float* x = images.data<float>();
    for (int64_t i = 0; i < n * 784; ++i) x[i] = pixels[i] / 255.0f;
    int32_t* y = labels.data<int32_t>();
    for (int64_t i = 0; i < n; ++i) y[i] = digits[i];
    return "mnist";
  }
  float* x = images.data<float>();  // sparse strokes: ~19% of pixels lit, like MNIST
  for (int64_t i = 0; i < images.num_elements(); ++i) {
    const int64_t h = (i * 7919) % 256;
    x[i] = h < 48 ? h / 47.0f : 0.0f;
  }
  int32_t* y = labels.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int32_t>(i % 10);
  return "synthetic";
}

int Fail(const absl::Status& status) {
  std::cerr << "train_step_bench: " << status << "\n";
  return 1;
}

int RunStep(const flow::jobs::Model* model) {
  const int batch = absl::GetFlag(FLAGS_batch), threads = absl::GetFlag(FLAGS_threads);
  const bool adapt = absl::GetFlag(FLAGS_adapt_threads);
  flow::Session session({.seed = 0, .threads = threads, .adapt_threads = adapt});
  flow::JobFunction job = MakeTrainJob(session, model, batch, absl::GetFlag(FLAGS_dropout));
  if (absl::Status s = job.Compile(); !s.ok()) return Fail(s);
  flow::Tensor images(flow::Shape({batch, 1, 28, 28}), flow::kFloat);
  flow::Tensor labels(flow::Shape({batch}), flow::kInt32);
  const std::string input = FillBatch(absl::GetFlag(FLAGS_data), images, labels);
  const std::vector<flow::Tensor> feeds = {images, labels};
  const auto warmup_start = Clock::now();
  for (int i = 0; i < absl::GetFlag(FLAGS_warmup) ||
                  Ms(warmup_start, Clock::now()) < absl::GetFlag(FLAGS_warmup_ms);
       ++i) {
    if (absl::Status s = job.RunInPlace(feeds); !s.ok()) return Fail(s);
  }
  std::vector<double> times;
  const double cpu_start = CpuSeconds();
  for (int i = 0; i < absl::GetFlag(FLAGS_iters); ++i) {
    const auto start = Clock::now();
    if (absl::Status s = job.RunInPlace(feeds); !s.ok()) return Fail(s);
    times.push_back(Ms(start, Clock::now()));
  }
  // CPU ms of the process per timed step: at 1 thread the step's cost even on a busy machine
  // (time-slicing stretches the wall time, not this); at 2 threads it includes OpenMP spinning.
  const double cpu_ms = (CpuSeconds() - cpu_start) * 1e3 / std::max(1, absl::GetFlag(FLAGS_iters));
  const double loss = job.fetch(0).mean();
  // adapt_threads: how many of all steps (warm-up included) ran on 1 thread.
  const flow::ThreadGovernor* governor = flow::CompiledJob::GetExecutor(job).governor();
  const std::string one_thread_steps =
      governor == nullptr ? "-" : absl::StrCat(governor->steps_at(1));
  // Whether the governor pinned the threads (it does once the process is preempted or starved),
  // and how many steps ran chunks-only (ThreadGovernor::chunks_only).
  const std::string pinned = governor == nullptr ? "-" : absl::StrCat(governor->pinned());
  const std::string chunks_only_steps =
      governor == nullptr ? "-" : absl::StrCat(governor->steps_chunks_only());
  std::vector<std::string> formatted;
  for (double t : times) formatted.push_back(absl::StrFormat("%.3f", t));
  std::cout
      << absl::StrFormat(
             "RESULT framework=flowrt mode=step model=%s threads=%d batch=%d "
             "input=%s dnnl_isa=%s omp_wait=%s median_ms=%.3f cpu_ms_per_step=%.3f "
             "peak_rss_mb=%.1f adapt_threads=%d one_thread_steps=%s pinned=%s chunks_only_steps=%s "
             "arena_mb=%.1f loss=%.4f "
             "cpu_s=%.2f times_ms=%s",
             model->name, threads, batch, input, flow::jobs::DnnlIsaName(),
             absl::StrReplaceAll(flow::OpenMpWaitPolicy(), {{" ", "_"}}), Median(times), cpu_ms,
             PeakRssMb(), adapt, one_thread_steps, pinned, chunks_only_steps,
             flow::CompiledJob::GetExecutor(job).arena_bytes() / 1048576.0, loss, CpuSeconds(),
             absl::StrJoin(formatted, ","))
      << std::endl;
  if (absl::GetFlag(FLAGS_profile)) {
    absl::StatusOr<flow::jobs::JobProfile> profile =
        flow::jobs::ProfileJob(job, feeds, {.iterations = absl::GetFlag(FLAGS_iters), .warmup = 0});
    if (!profile.ok()) return Fail(profile.status());
    std::cout << flow::jobs::FormatProfile(*profile);
  }
  return 0;
}

// Seconds since the epoch (CLOCK_REALTIME) when this process was exec'd, and how it is known:
// "wrapper" when the launcher set FLOWRT_BENCH_EXEC_TIME (bash: `FLOWRT_BENCH_EXEC_TIME=
// $EPOCHREALTIME exec prog`, stamped just before exec, microseconds), else "proc": the kernel's
// start time (/proc/self/stat field 22, in clock ticks, typically 10 ms) mapped from boot time.
// train_step_bench.py's ExecTime is the same, so both sides count the dynamic loader.
std::pair<double, std::string> ExecTime() {
  if (const char* stamp = std::getenv("FLOWRT_BENCH_EXEC_TIME"); stamp != nullptr && *stamp) {
    return {std::strtod(stamp, nullptr), "wrapper"};
  }
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the ")" that closes the command name; starttime is field 22 = the 20th after it.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
  }
  timespec boot{}, real{};
  clock_gettime(CLOCK_BOOTTIME, &boot);
  clock_gettime(CLOCK_REALTIME, &real);
  const double since_start =
      boot.tv_sec + boot.tv_nsec / 1e9 - std::stod(field) / sysconf(_SC_CLK_TCK);
  return {real.tv_sec + real.tv_nsec / 1e9 - since_start, "proc"};
}

double RealtimeSeconds() {
  timespec real{};
  clock_gettime(CLOCK_REALTIME, &real);
  return real.tv_sec + real.tv_nsec / 1e9;
}

// What a user's first run costs: load_mnist (both splits, as a training program does), build and
// compile the train job, one step on the first batch. Times are wall ms from the exec time.
int RunStartup(const flow::jobs::Model* model, double main_time) {
  const auto [exec_time, exec_source] = ExecTime();
  const int threads = absl::GetFlag(FLAGS_threads);
  const double load_cpu_start = CpuSeconds();
  absl::StatusOr<flow::data::Mnist> mnist =
      flow::data::load_mnist(100, 100, absl::GetFlag(FLAGS_data));
  if (!mnist.ok()) return Fail(mnist.status());
  const double loaded = RealtimeSeconds();
  // The load's CPU time: its cost on a busy machine, where the wall time also counts waiting.
  const double load_cpu_ms = (CpuSeconds() - load_cpu_start) * 1e3;
  flow::Session session({.seed = 0, .threads = threads});
  flow::JobFunction job = MakeTrainJob(session, model, 100, absl::GetFlag(FLAGS_dropout));
  if (absl::Status s = job.Compile(); !s.ok()) return Fail(s);
  const double compiled = RealtimeSeconds();
  const std::vector<flow::Tensor> feeds = {mnist->train.images(0), mnist->train.labels(0)};
  if (absl::Status s = job.RunInPlace(feeds); !s.ok()) return Fail(s);
  const double stepped = RealtimeSeconds();
  std::cout
      << absl::StrFormat(
             "RESULT framework=flowrt mode=startup model=%s threads=%d batch=100 "
             "start=%s total_ms=%.1f init_ms=%.1f load_ms=%.1f load_cpu_ms=%.1f compile_ms=%.1f "
             "first_step_ms=%.1f loss=%.4f peak_rss_mb=%.1f dnnl_isa=%s cpu_s=%.2f",
             model->name, threads, exec_source, (stepped - exec_time) * 1e3,
             (main_time - exec_time) * 1e3, (loaded - main_time) * 1e3, load_cpu_ms,
             (compiled - loaded) * 1e3, (stepped - compiled) * 1e3, job.fetch(0).mean(),
             PeakRssMb(), flow::jobs::DnnlIsaName(), CpuSeconds())
      << std::endl;
  return 0;
}

int RunEpoch(const flow::jobs::Model* model) {
  const int threads = absl::GetFlag(FLAGS_threads);
  const auto start = Clock::now();
  absl::StatusOr<flow::data::Mnist> mnist =
      flow::data::load_mnist(100, 100, absl::GetFlag(FLAGS_data));
  if (!mnist.ok()) return Fail(mnist.status());
  const auto loaded = Clock::now();
  flow::Session session({.seed = 0, .threads = threads});
  flow::JobFunction job = MakeTrainJob(session, model, 100, absl::GetFlag(FLAGS_dropout));
  if (absl::Status s = job.Compile(); !s.ok()) return Fail(s);
  const auto compiled = Clock::now();
  double loss_sum = 0;
  const int batches = mnist->train.num_batches();
  for (int i = 0; i < batches; ++i) {
    const std::vector<flow::Tensor> feeds = {mnist->train.images(i), mnist->train.labels(i)};
    if (absl::Status s = job.RunInPlace(feeds); !s.ok()) return Fail(s);
    if (i >= batches - 50) loss_sum += job.fetch(0).mean();
  }
  const auto done = Clock::now();
  std::cout << absl::StrFormat(
                   "RESULT framework=flowrt mode=epoch model=%s threads=%d batch=100 "
                   "epoch_s=%.3f load_s=%.3f compile_s=%.3f train_s=%.3f steps=%d "
                   "peak_rss_mb=%.1f loss_last50=%.4f cpu_s=%.2f",
                   model->name, threads, Ms(start, done) / 1e3, Ms(start, loaded) / 1e3,
                   Ms(loaded, compiled) / 1e3, Ms(compiled, done) / 1e3, batches, PeakRssMb(),
                   loss_sum / 50, CpuSeconds())
            << std::endl;
  return 0;
}

// ---- FMA peak probe ----

struct Probe {
  double wall_gflops = 0;  // aggregate over threads, per wall second
  double core_gflops = 0;  // per CPU second of one thread: one core's peak, even on a busy machine
};

// `threads` threads each run the loop (2 FLOPs per lane per FMA). The per-core figure divides by
// each thread's own CPU time (CLOCK_THREAD_CPUTIME_ID), so time-slicing with other processes on a
// shared machine does not lower it (no SMT here: one thread per core).
Probe ProbeGflops(bool avx512, int threads, double seconds) {
  auto thread_cpu_s = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
  };
  const int64_t n = flow::jobs::CalibrateFmaLoop(avx512, seconds);  // on one thread
  const double flops_per_thread = flow::jobs::FmaLoopFlops(avx512) * static_cast<double>(n);
  Probe best;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<double> core(threads, 0.0);
    const auto start = Clock::now();
#pragma omp parallel num_threads(threads)
    {
      const double t0 = thread_cpu_s();
      volatile double sink = flow::jobs::RunFmaLoop(avx512, n);
      (void)sink;
      core[omp_get_thread_num()] = flops_per_thread / (thread_cpu_s() - t0) / 1e9;
    }
    const double wall = Ms(start, Clock::now()) / 1e3;
    best.wall_gflops = std::max(best.wall_gflops, flops_per_thread * threads / wall / 1e9);
    best.core_gflops = std::max(best.core_gflops, Median(core));
  }
  return best;
}

int RunProbe() {
  const int threads = absl::GetFlag(FLAGS_threads);
  const double seconds = absl::GetFlag(FLAGS_probe_seconds);
  // AVX-512 only when oneDNN dispatches to it too: under ONEDNN_MAX_CPU_ISA=AVX2 the probe
  // measures the AVX2 peak, the roofline of the capped run.
  const bool has512 = __builtin_cpu_supports("avx512f") && flow::jobs::DnnlIsaHasAvx512();
  const Probe avx2 = ProbeGflops(false, threads, seconds);
  const Probe avx512 = has512 ? ProbeGflops(true, threads, seconds) : Probe{};
  const Probe& best = avx512.core_gflops > avx2.core_gflops ? avx512 : avx2;
  std::cout << absl::StrFormat(
                   "RESULT mode=probe threads=%d isa=%s gflops=%.1f core_gflops=%.1f "
                   "avx2_core_gflops=%.1f avx512_core_gflops=%.1f dnnl_isa=%s cpu_s=%.2f",
                   threads, &best == &avx512 ? "avx512" : "avx2", best.wall_gflops,
                   best.core_gflops, avx2.core_gflops, avx512.core_gflops,
                   flow::jobs::DnnlIsaName(), CpuSeconds())
            << std::endl;
  return 0;
}

// ---- time slices ----

// Spins on one CPU and reports how the kernel shares it out: the bursts the thread runs and the
// gaps it waits (gaps over 100 us; the timer tick and the hypervisor take tens of us on their
// own). Beside contention.sh's busy loop this is the time slice that a thread of flowrt's team
// on that core gets: a thread taken off in the middle of a chunk holds up the others for a gap.
int RunSlices() {
  int cpu = absl::GetFlag(FLAGS_slice_cpu);
  if (cpu < 0) cpu = static_cast<int>(std::thread::hardware_concurrency()) - 1;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) {
    std::cerr << "train_step_bench: cannot run on CPU " << cpu << "\n";
    return 2;
  }
  const double seconds = absl::GetFlag(FLAGS_probe_seconds);
  std::vector<double> bursts, gaps;  // ms
  const Clock::time_point start = Clock::now();
  Clock::time_point last = start, burst_start = start;
  double waited = 0;
  for (Clock::time_point now = start; Ms(start, now) < seconds * 1e3; now = Clock::now()) {
    const double gap = Ms(last, now);
    if (gap > 0.1) {
      bursts.push_back(Ms(burst_start, last));
      gaps.push_back(gap);
      waited += gap;
      burst_start = now;
    }
    last = now;
  }
  const double wall = Ms(start, last);
  std::cout << absl::StrFormat(
                   "RESULT mode=slices cpu=%d seconds=%.2f share=%.3f bursts=%d burst_ms=%.3f "
                   "gap_ms=%.3f max_gap_ms=%.3f",
                   cpu, wall / 1e3, 1 - waited / wall, static_cast<int>(bursts.size()),
                   Median(bursts), Median(gaps),
                   gaps.empty() ? 0.0 : *std::max_element(gaps.begin(), gaps.end()))
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const double main_time = RealtimeSeconds();  // startup mode: the end of loading + static init
  flow::UseBoundedOpenMpWait(argv);
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "probe") return RunProbe();
  if (mode == "slices") return RunSlices();
  const flow::jobs::Model* model = flow::jobs::FindModel(absl::GetFlag(FLAGS_model));
  if (model == nullptr) {
    std::cerr << "train_step_bench: unknown --model=" << absl::GetFlag(FLAGS_model) << "\n";
    return 2;
  }
  if (mode == "step") return RunStep(model);
  if (mode == "epoch") return RunEpoch(model);
  if (mode == "startup") return RunStartup(model, main_time);
  std::cerr << "train_step_bench: unknown --mode=" << mode
            << " (step | epoch | startup | probe | slices)\n";
  return 2;
}

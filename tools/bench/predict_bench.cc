// Inference benchmark of flow::Predictor on the seed's LeNet / MLP (eval jobs, no dropout), the
// flowrt side of tools/bench/predict_bench.sh (predict_bench.py is the PyTorch mirror,
// predict_bench_ort.js the onnxruntime one; each prints one "RESULT key=value ..." line).
//
//   predict_bench --model=lenet --calls=2000      # batch-1 p50/p99 (1 thread), batch-100 img/s
//   predict_bench --model=mlp --callers=4         # plus 4 threads calling one predictor at once
//   predict_bench --model=mlp --onnx=mlp.onnx     # also writes this predictor's model for ORT
//
// Weights are the model's initial values (truncated_normal(0.1) kernels, zero biases): latency
// does not depend on them. Input: fixed pseudo-random images in [0, 1), (N, 1, 28, 28) f32.
// Every call writes into a caller-owned output tensor (the allocation-free path).
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "deploy/onnx_export.h"
#include "graph/flow.h"
#include "jobs/model_jobs.h"
#include "jobs/models.h"
#include "report/op_profile.h"

ABSL_FLAG(std::string, model, "lenet", "lenet | mlp");
ABSL_FLAG(int, calls, 2000, "timed batch-1 calls after warm-up (per caller thread)");
ABSL_FLAG(int, batch_iters, 50, "timed batch-100 calls");
ABSL_FLAG(int, callers, 1, "threads calling one predictor at once in the multi-caller phase");
ABSL_FLAG(int, threads, 1, "OpenMP threads per call");
ABSL_FLAG(std::string, onnx, "", "also export the benchmarked model (logits) to this ONNX file");
ABSL_FLAG(bool, profile, false, "also print the per-op ms of a batch-1 call (jobs/op_profile.h)");

namespace {

using Clock = std::chrono::steady_clock;

flow::Tensor Images(int64_t n) {
  flow::Tensor t(flow::Shape({n, 1, 28, 28}), flow::kFloat);
  uint32_t state = 12345;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    state = state * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(state >> 8) / 16777216.f;
  }
  return t;
}

// CPU time of the calling thread, µs: what a call costs, whatever else the machine runs (its wall
// time on a loaded machine also holds the time slices other processes took).
double ThreadCpuUs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) * 1e-3;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

int Fail(const absl::Status& status) {
  std::cerr << "predict_bench: " << status << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string model_name = absl::GetFlag(FLAGS_model);
  const flow::jobs::Model* model = flow::jobs::FindModel(model_name);
  if (model == nullptr) return Fail(absl::InvalidArgumentError("unknown --model"));
  // The model's initial variables, from its eval job in a scratch session.
  flow::Session session({.seed = 1, .threads = 1});
  absl::StatusOr<flow::JobFunction> eval = flow::jobs::BuildModelJob(session, model_name, {});
  if (!eval.ok()) return Fail(eval.status());
  auto body = [model](const flow::Blob& x) { return model->logits(x, {.train = false}); };
  absl::StatusOr<std::unique_ptr<flow::Predictor>> predictor =
      flow::Predictor::Create(session.get_all_variables(), body, flow::Placeholder({1, 28, 28}),
                              {.threads = absl::GetFlag(FLAGS_threads)});
  if (!predictor.ok()) return Fail(predictor.status());
  flow::Predictor& p = **predictor;
  if (const std::string onnx = absl::GetFlag(FLAGS_onnx); !onnx.empty()) {
    absl::Status s =
        flow::export_onnx(session.get_all_variables(), body, flow::Placeholder({1, 28, 28}), onnx);
    if (!s.ok()) return Fail(s);
  }

  // Batch 1, one thread.
  const flow::Tensor one = Images(1);
  flow::Tensor out1(flow::Shape({1, 10}), flow::kFloat);
  for (int i = 0; i < 200; ++i) {
    if (absl::Status s = p.Predict(one, &out1); !s.ok()) return Fail(s);
  }
  const int calls = absl::GetFlag(FLAGS_calls);
  std::vector<double> us(calls), cpu_us(calls);
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    const double c0 = ThreadCpuUs();
    if (absl::Status s = p.Predict(one, &out1); !s.ok()) return Fail(s);
    cpu_us[i] = ThreadCpuUs() - c0;
    us[i] = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  }

  // Batch 100 throughput.
  const flow::Tensor hundred = Images(100);
  flow::Tensor out100(flow::Shape({100, 10}), flow::kFloat);
  for (int i = 0; i < 5; ++i) {
    if (absl::Status s = p.Predict(hundred, &out100); !s.ok()) return Fail(s);
  }
  const int iters = absl::GetFlag(FLAGS_batch_iters);
  const auto b0 = Clock::now();
  for (int i = 0; i < iters; ++i) {
    if (absl::Status s = p.Predict(hundred, &out100); !s.ok()) return Fail(s);
  }
  const double b100_s = std::chrono::duration<double>(Clock::now() - b0).count();

  // `callers` threads on one predictor, batch 1: aggregate calls per second. Each thread warms
  // up first (the pool grows to one compiled copy per concurrent caller).
  const int callers = absl::GetFlag(FLAGS_callers);
  std::atomic<int> ready = 0, failed = 0;
  std::atomic<bool> go = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&] {
      flow::Tensor out(flow::Shape({1, 10}), flow::kFloat);
      for (int i = 0; i < 50; ++i) failed += !p.Predict(one, &out).ok();
      ++ready;
      while (!go) std::this_thread::yield();
      for (int i = 0; i < calls; ++i) failed += !p.Predict(one, &out).ok();
    });
  }
  while (ready < callers) std::this_thread::yield();
  const auto m0 = Clock::now();
  go = true;
  for (std::thread& t : threads) t.join();
  const double multi_s = std::chrono::duration<double>(Clock::now() - m0).count();
  if (failed > 0) return Fail(absl::InternalError("a concurrent call failed"));

  if (absl::GetFlag(FLAGS_profile)) {  // the predictor's job, batch 1, in the same session
    flow::JobFunction job = flow::global_function(session, "profile_b1", flow::JobType::kPredict,
                                                  body, flow::Placeholder({1, 1, 28, 28}));
    absl::StatusOr<flow::jobs::JobProfile> profile =
        flow::jobs::ProfileJob(job, {one}, {.iterations = calls, .warmup = 200});
    if (!profile.ok()) return Fail(profile.status());
    std::cout << flow::jobs::FormatProfile(*profile);
  }
  std::cout << absl::StrFormat(
      "RESULT engine=flowrt model=%s b1_p50_us=%.1f b1_p99_us=%.1f b1_cpu_p50_us=%.1f "
      "b100_img_per_s=%.0f callers=%d multi_calls_per_s=%.0f\n",
      model_name, Percentile(us, 0.5), Percentile(us, 0.99), Percentile(cpu_us, 0.5),
      100.0 * iters / b100_s, callers, callers * static_cast<double>(calls) / multi_s);
}

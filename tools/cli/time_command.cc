// flowrt time: per-op forward, backward and update ms of a model's training step, like
// `caffe time`, on random input (no data needed):
//   flowrt time --job=lenet|mlp|mlp_finetune [--iterations=50] [--threads=T] [--batch_size=100]
//               [--nofusions] [the training flags of training_flags.h: --optimizer, --lr, ...]
#include <iostream>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "jobs/model_jobs.h"
#include "report/cpu_peak.h"
#include "report/op_profile.h"
#include "runtime/executor.h"
#include "runtime/openmp_wait_policy.h"
#include "tools/cli/commands.h"
#include "tools/cli/training_flags.h"

ABSL_DECLARE_FLAG(std::string, job);
ABSL_DECLARE_FLAG(int32_t, batch_size);
ABSL_DECLARE_FLAG(int32_t, threads);
ABSL_FLAG(int32_t, iterations, 50, "flowrt time: profiled iterations (after 5 warm-up ones)");
ABSL_FLAG(bool, fusions, true,
          "flowrt time: the exact op fusions of graph/passes/ (--nofusions: the unfused job, to "
          "compare; training is bit-identical either way)");

namespace flow::cli {

int RunTime(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return Fail("time",
                absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args[0], "'")));
  }
  absl::StatusOr<jobs::ModelJobOptions> training = ReadTrainingFlags();
  if (!training.ok()) return Fail("time", training.status());
  const int batch = training->batch_size;
  const bool fusions = absl::GetFlag(FLAGS_fusions);
  Session session({.threads = absl::GetFlag(FLAGS_threads),
                   .rewrites = {.relu_grad_into_max_pool_grad = fusions,
                                .sgd_update_into_dense_grad_weight = fusions,
                                .max_pool_grad_into_conv_grad_weight = fusions,
                                .conv2d_into_max_pool2d = fusions}});
  absl::StatusOr<JobFunction> job =
      jobs::BuildModelJob(session, absl::GetFlag(FLAGS_job), *training);
  if (!job.ok()) return Fail("time", job.status());
  // Images in [0, 1) and labels in [0, 10): a deterministic stand-in for an MNIST batch.
  Tensor images(Shape({batch, 1, 28, 28}), kFloat);
  Tensor labels(Shape({batch}), kInt32);
  for (int64_t i = 0; i < images.num_elements(); ++i) {
    images.data<float>()[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.f;
  }
  for (int i = 0; i < batch; ++i) labels.data<int32_t>()[i] = i % 10;
  const Tensor feeds[] = {images, labels};
  absl::StatusOr<jobs::JobProfile> profile =
      jobs::ProfileJob(*job, feeds, {.iterations = absl::GetFlag(FLAGS_iterations)});
  if (!profile.ok()) return Fail("time", profile.status());
  const int threads = KernelThreads(absl::GetFlag(FLAGS_threads));
  std::cout << absl::GetFlag(FLAGS_job) << " training step (" << DescribeTraining(*training)
            << "), batch " << batch << ", " << threads << (threads == 1 ? " thread" : " threads")
            << ", mean of " << absl::GetFlag(FLAGS_iterations)
            << " iterations\n"
            // The ISA every kernel ran at (oneDNN's, which flowrt's own kernels follow; capped by
            // ONEDNN_MAX_CPU_ISA) and one core's FMA peak there, the roofline for these times.
            << "oneDNN ISA " << jobs::DnnlIsaName() << ", FMA peak at that ISA "
            << absl::StrFormat("%.1f", jobs::FmaPeakGflopsPerCore(0.2))
            << " GFLOP/s per core (probe)\n"
            << "OpenMP wait policy " << OpenMpWaitPolicy() << "\n"
            << "OpenMP thread binding " << OpenMpBinding() << "\n"
            << "exact fusions " << (fusions ? "on" : "off (--nofusions)") << "\n\n"
            << jobs::FormatProfile(*profile);
  return 0;
}

}  // namespace flow::cli

// Per-op timing of a compiled job, like `caffe time`: forward, backward and update ms per op and
// per layer, so a slow op is visible. Behind `flowrt time` and tools/bench/train_step_bench.
//
//   FLOWRT_ASSIGN_OR_RETURN(flow::jobs::JobProfile profile,
//                    flow::jobs::ProfileJob(train_job, {images, labels}, {.iterations = 50}));
//   std::cout << flow::jobs::FormatProfile(profile);
//
// Each op's time is the mean over `iterations` runs (after `warmup` unprofiled ones) of its
// kernel's wall time, from Executor::RunProfiled. The sum over ops is a little above a plain
// Run's step time (two clock reads per op); step_ms_median is measured with plain runs.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/global_function.h"
#include "runtime/tensor.h"

namespace flow::jobs {

enum class OpPhase { kForward, kBackward, kUpdate };
const char* OpPhaseName(OpPhase phase);  // "forward", "backward", "update"

struct OpTiming {
  std::string name;   // the op's name in the job ("conv1", "conv1_grad_1", ...)
  std::string type;   // "conv2d", "conv2d_grad_weight", ...
  std::string layer;  // "conv1" for "conv1", "conv1_grad_1", "conv1-weight-update"; "optimizer"
  OpPhase phase = OpPhase::kForward;
  double ms = 0;  // mean per iteration
};

struct LayerTiming {
  std::string layer;
  double forward_ms = 0, backward_ms = 0, update_ms = 0;
};

struct JobProfile {
  std::vector<OpTiming> ops;        // in execution order, ops that ran kernels only
  std::vector<LayerTiming> layers;  // in order of first appearance
  double forward_ms = 0, backward_ms = 0, update_ms = 0;
  double profiled_total_ms = 0;  // sum over ops
  double step_ms_median = 0;     // plain (unprofiled) runs
  int iterations = 0;
};

struct ProfileOptions {
  int iterations = 50;
  int warmup = 5;
};

// Runs `job` (compiling it if needed) warmup + 2·iterations times on `feeds`: half profiled per op,
// half plain for the step median. Trains: a train job's variables change.
absl::StatusOr<JobProfile> ProfileJob(JobFunction& job, absl::Span<const Tensor> feeds,
                                      const ProfileOptions& options = {});

// The phase of an op of a compiled train job: update for the ops the registry marks as the
// optimizer's (OpSchema::optimizer: updates, lr schedule, clip coefficient, step counter),
// backward by the autodiff "_grad" naming (and fill_like, the loss-gradient seed).
OpPhase ClassifyOp(const std::string& name, const std::string& type);

// A fixed-width table: per layer forward/backward/update ms, then the `top` slowest ops (0: all),
// then the totals.
std::string FormatProfile(const JobProfile& profile, int top = 15);

}  // namespace flow::jobs

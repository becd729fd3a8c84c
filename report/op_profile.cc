#include "report/op_profile.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "runtime/executor.h"

namespace flow::jobs {

const char* OpPhaseName(OpPhase phase) {
  switch (phase) {
    case OpPhase::kForward:
      return "forward";
    case OpPhase::kBackward:
      return "backward";
    case OpPhase::kUpdate:
      return "update";
  }
  return "?";
}

OpPhase ClassifyOp(const std::string& name, const std::string& type) {
  if (const OpSchema* schema = FindOp(type); schema != nullptr && schema->optimizer) {
    return OpPhase::kUpdate;
  }
  if (absl::StrContains(name, "_grad") || absl::StrContains(type, "_grad") ||
      type == "fill_like") {  // fill_like: the seed of the loss gradient
    return OpPhase::kBackward;
  }
  return OpPhase::kForward;
}

namespace {

// "conv1_grad_2" → "conv1"; "conv1-weight-update" → "conv1"; "System-Train-..." → "optimizer".
std::string LayerOf(const std::string& name) {
  if (absl::StartsWith(name, "System-")) return "optimizer";
  absl::string_view layer = name;
  if (absl::ConsumeSuffix(&layer, "-update")) {  // an optimizer's update op: "<var>-update"
    if (!absl::ConsumeSuffix(&layer, "-weight")) absl::ConsumeSuffix(&layer, "-bias");
    return std::string(layer);
  }
  return std::string(layer.substr(0, layer.find("_grad")));
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

absl::StatusOr<JobProfile> ProfileJob(JobFunction& job, absl::Span<const Tensor> feeds,
                                      const ProfileOptions& options) {
  if (options.iterations < 1 || options.warmup < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ProfileJob: iterations must be >= 1 and warmup >= 0, got ",
                     options.iterations, " and ", options.warmup));
  }
  if (!job.compiled()) FLOWRT_RETURN_IF_ERROR(job.Compile());
  for (int i = 0; i < options.warmup; ++i) FLOWRT_RETURN_IF_ERROR(job.RunInPlace(feeds));

  std::vector<double> step_ms;
  step_ms.reserve(options.iterations);
  for (int i = 0; i < options.iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    FLOWRT_RETURN_IF_ERROR(job.RunInPlace(feeds));
    step_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }

  Executor& executor = CompiledJob::GetExecutor(job);
  std::vector<double> op_ms(executor.num_ops(), 0.0);
  std::vector<bool> ran(executor.num_ops(), false);
  for (int i = 0; i < options.iterations; ++i) {
    std::vector<double> before = op_ms;
    FLOWRT_RETURN_IF_ERROR(executor.RunProfiled(feeds, &op_ms));
    for (size_t k = 0; k < op_ms.size(); ++k) ran[k] = ran[k] || op_ms[k] != before[k];
  }

  JobProfile profile;
  profile.iterations = options.iterations;
  profile.step_ms_median = Median(step_ms);
  std::map<std::string, size_t> layer_index;
  const flowrt::JobConf& conf = executor.job();
  for (int k = 0; k < conf.op_size(); ++k) {
    if (!ran[k]) continue;  // variables, inputs: no kernel
    OpTiming t;
    t.name = conf.op(k).name();
    t.type = conf.op(k).type();
    t.layer = LayerOf(t.name);
    t.phase = ClassifyOp(t.name, t.type);
    t.ms = op_ms[k] / options.iterations;
    auto [it, added] = layer_index.emplace(t.layer, profile.layers.size());
    if (added) profile.layers.push_back({.layer = t.layer});
    LayerTiming& layer = profile.layers[it->second];
    switch (t.phase) {
      case OpPhase::kForward:
        layer.forward_ms += t.ms;
        profile.forward_ms += t.ms;
        break;
      case OpPhase::kBackward:
        layer.backward_ms += t.ms;
        profile.backward_ms += t.ms;
        break;
      case OpPhase::kUpdate:
        layer.update_ms += t.ms;
        profile.update_ms += t.ms;
        break;
    }
    profile.profiled_total_ms += t.ms;
    profile.ops.push_back(std::move(t));
  }
  return profile;
}

std::string FormatProfile(const JobProfile& profile, int top) {
  std::string out =
      absl::StrFormat("%-36s %11s %11s %11s\n", "layer", "forward ms", "backward ms", "update ms");
  for (const LayerTiming& l : profile.layers) {
    absl::StrAppendFormat(&out, "%-36s %11.3f %11.3f %11.3f\n", l.layer, l.forward_ms,
                          l.backward_ms, l.update_ms);
  }
  std::vector<const OpTiming*> ops;
  for (const OpTiming& t : profile.ops) ops.push_back(&t);
  std::stable_sort(ops.begin(), ops.end(),
                   [](const OpTiming* a, const OpTiming* b) { return a->ms > b->ms; });
  if (top > 0 && static_cast<int>(ops.size()) > top) ops.resize(top);
  absl::StrAppendFormat(&out, "\n%-36s %-34s %-8s %9s %6s\n", "op", "type", "phase", "ms", "%");
  for (const OpTiming* t : ops) {
    absl::StrAppendFormat(
        &out, "%-36s %-34s %-8s %9.3f %5.1f%%\n", t->name, t->type, OpPhaseName(t->phase), t->ms,
        profile.profiled_total_ms > 0 ? 100 * t->ms / profile.profiled_total_ms : 0.0);
  }
  absl::StrAppendFormat(&out,
                        "\ntotal (sum of ops) %.3f ms: forward %.3f, backward %.3f, update %.3f; "
                        "plain step median %.3f ms over %d iterations\n",
                        profile.profiled_total_ms, profile.forward_ms, profile.backward_ms,
                        profile.update_ms, profile.step_ms_median, profile.iterations);
  return out;
}

}  // namespace flow::jobs

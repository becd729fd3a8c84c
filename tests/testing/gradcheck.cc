#include "tests/testing/gradcheck.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/autodiff.h"
#include "graph/global_function.h"
#include "graph/math_ops.h"

namespace flow::testing {

std::set<std::string>& GradientCheckedOps() {
  static auto* ops = new std::set<std::string>();
  return *ops;
}

Tensor RandomTensor(const Shape& shape, uint64_t seed, double min_abs) {
  Tensor t(shape, kFloat);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    double v = static_cast<double>(s % 2000001) / 1000000.0 - 1.0;
    if (std::abs(v) < min_abs) v = v < 0 ? -min_abs : min_abs;
    t.data<float>()[i] = static_cast<float>(v);
  }
  return t;
}

namespace {

double WeightedSum(const Tensor& out, const Tensor& w) {
  double sum = 0;
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    sum += static_cast<double>(out.data<float>()[i]) * w.data<float>()[i];
  }
  return sum;
}

}  // namespace

::testing::AssertionResult CheckGradients(const OpFn& op, const std::vector<Tensor>& inputs,
                                          const GradCheckOptions& options) {
  std::vector<int> checked = options.check_inputs;
  if (checked.empty()) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].dtype() == kFloat) checked.push_back(static_cast<int>(i));
    }
  }
  // Forward-only job, to learn the output shape and evaluate perturbed inputs.
  Session session;
  std::vector<Placeholder> placeholders;
  for (const Tensor& t : inputs) placeholders.emplace_back(t.shape(), t.dtype());
  JobFunction forward(
      &session, "forward", JobType::kPredict,
      [&](const std::vector<Blob>& in) { return std::vector<Blob>{op(in)}; }, placeholders);
  absl::StatusOr<std::vector<Tensor>> base = forward.Run(inputs);
  if (!base.ok()) return ::testing::AssertionFailure() << "forward: " << base.status();
  const Tensor& out0 = (*base)[0];
  if (out0.dtype() != kFloat) return ::testing::AssertionFailure() << "output is not kFloat";
  const Tensor w = RandomTensor(out0.shape(), options.seed);

  // Backward job: same op, plus autodiff of sum(out · w) with respect to the checked inputs.
  std::vector<Placeholder> with_w = placeholders;
  with_w.emplace_back(out0.shape(), kFloat, "w");
  JobFunction backward(
      &session, "backward", JobType::kPredict,
      [&](const std::vector<Blob>& in) {
        std::vector<Blob> xs(in.begin(), in.end() - 1);
        Blob out = op(xs);
        std::vector<Blob> wrt;
        for (int i : checked) wrt.push_back(xs[i]);
        absl::StatusOr<std::vector<Blob>> grads = Gradients({out}, wrt, {in.back()});
        if (!grads.ok()) return std::vector<Blob>{};
        for (size_t k = 0; k < grads->size(); ++k) {
          if (!(*grads)[k].ok()) (*grads)[k] = fill_like(wrt[k], 0.f);  // input unused by op
        }
        return *grads;
      },
      with_w);
  std::vector<Tensor> feeds = inputs;
  feeds.push_back(w);
  absl::StatusOr<std::vector<Tensor>> analytic = backward.Run(feeds);
  if (!analytic.ok()) return ::testing::AssertionFailure() << "backward: " << analytic.status();

  std::vector<Tensor> perturbed;
  for (const Tensor& t : inputs) perturbed.push_back(t.Clone());
  for (size_t k = 0; k < checked.size(); ++k) {
    const int i = checked[k];
    const Tensor& grad = (*analytic)[k];
    double diff_sq = 0, numeric_sq = 0;  // for the normwise bound
    float* x = perturbed[i].data<float>();
    for (int64_t j = 0; j < perturbed[i].num_elements(); ++j) {
      const float original = x[j];
      x[j] = static_cast<float>(original + options.eps);
      absl::StatusOr<std::vector<Tensor>> plus = forward.Run(perturbed);
      x[j] = static_cast<float>(original - options.eps);
      absl::StatusOr<std::vector<Tensor>> minus = forward.Run(perturbed);
      x[j] = original;
      if (!plus.ok() || !minus.ok()) return ::testing::AssertionFailure() << "perturbed run failed";
      const double numeric =
          (WeightedSum((*plus)[0], w) - WeightedSum((*minus)[0], w)) / (2 * options.eps);
      const double got = grad.data<float>()[j];
      diff_sq += (numeric - got) * (numeric - got);
      numeric_sq += numeric * numeric;
      if (std::abs(numeric - got) > options.atol + options.rtol * std::abs(numeric)) {
        return ::testing::AssertionFailure()
               << "input " << i << " element " << j << ": analytic " << got << ", numeric "
               << numeric << " (input shape " << inputs[i].shape().ToString() << ")";
      }
    }
    const double n = static_cast<double>(perturbed[i].num_elements());
    const double bound =
        options.norm_rtol * std::sqrt(numeric_sq) + options.norm_atol * std::sqrt(n);
    if (std::sqrt(diff_sq) > bound) {
      return ::testing::AssertionFailure()
             << "input " << i << ": ‖numeric − analytic‖ = " << std::sqrt(diff_sq) << " > " << bound
             << " (relative error " << std::sqrt(diff_sq / numeric_sq) << ", input shape "
             << inputs[i].shape().ToString() << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace flow::testing

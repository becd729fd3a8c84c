// The numerical gradient check every differentiable op's test uses (Caffe's GradientChecker,
// in flowrt's terms). It records a predict job that applies `op` to placeholder inputs, asks
// autodiff for d(sum(out · w))/d(input) with a random w, and compares it with central differences
// of the forward kernel, accumulated in float64 on the host: element by element, and as a whole
// (a relative L2 bound that a gradient 0.5% off fails). Callers pick inputs away
// from kinks (ReLU at 0, max-pool ties) — the checker does not guess.
//
//   EXPECT_TRUE(CheckGradients([](const std::vector<Blob>& in) { return nn::relu(in[0]); },
//                              {RandomTensor({2, 3}, /*seed=*/1, /*min_abs=*/0.05)}));
//
// Each op test file also states which op types it checks, for the registry sweep:
//   FLOWRT_GRADIENT_CHECKED(relu);
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "framework/blob.h"
#include "runtime/tensor.h"

namespace flow::testing {

struct GradCheckOptions {
  double eps = 1e-2;   // central-difference step (float32 forward)
  double rtol = 2e-2;  // per element: |numeric − analytic| ≤ atol + rtol·|numeric|
  double atol = 2e-3;
  // Per checked input, over all its elements: ‖numeric − analytic‖₂ ≤ norm_rtol·‖numeric‖₂ +
  // norm_atol·√n. Tight enough that a rule off by 0.5% fails (tests/testing/gradcheck_test.cc);
  // the float32 forward's rounding and the O(eps²) difference error stay well below it.
  double norm_rtol = 1e-3;
  double norm_atol = 1e-5;
  uint64_t seed = 7;  // for w, the output weights
  // Inputs to check (default: every float input).
  std::vector<int> check_inputs;
};

using OpFn = std::function<Blob(const std::vector<Blob>& inputs)>;

::testing::AssertionResult CheckGradients(const OpFn& op, const std::vector<Tensor>& inputs,
                                          const GradCheckOptions& options = {});

// Uniform values in [-1, 1], deterministic in seed; values with |x| < min_abs are pushed out to
// ±min_abs (away from kinks at 0).
Tensor RandomTensor(const Shape& shape, uint64_t seed, double min_abs = 0.0);

// Op types with a gradient check (filled by FLOWRT_GRADIENT_CHECKED at static init).
std::set<std::string>& GradientCheckedOps();
struct GradientCheckedRegistration {
  explicit GradientCheckedRegistration(const char* type) { GradientCheckedOps().insert(type); }
};
#define FLOWRT_GRADIENT_CHECKED(type) \
  static ::flow::testing::GradientCheckedRegistration flowrt_gradient_checked_##type(#type)

}  // namespace flow::testing

// OneFlow's flow.get_variable: declares a named, persistent variable in the job being recorded
// and returns its blob. The name gets the current namespace prefix ("conv1-weight").
//
//   flow::Blob w = flow::get_variable("weight", {10, 784},
//                                     {.initializer = flow::truncated_normal(0.1)});
//
// Same name in one job: returns the existing variable (reuse = true, OneFlow's default) — but a
// different shape or dtype is an error naming both (OneFlow silently ignored it); with
// reuse = false (what layers use) any second declaration is an error. Across jobs of a session
// the name refers to one storage. trainable = false: no gradient and no optimizer slot, but
// saved and loaded like every variable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "framework/blob.h"
#include "graph/initializer.h"

namespace flow {

// Weight decay the optimizer adds to a variable's gradient: l1·sign(w) + l2·w (OneFlow's
// L1L2 regularizer conf). Zeros = none.
struct Regularizer {
  float l1 = 0;
  float l2 = 0;
};

namespace regularizers {
inline Regularizer l1(float l1 = 0.01f) { return {.l1 = l1}; }
inline Regularizer l2(float l2 = 0.01f) { return {.l2 = l2}; }
inline Regularizer l1_l2(float l1 = 0.01f, float l2 = 0.01f) { return {.l1 = l1, .l2 = l2}; }
}  // namespace regularizers

namespace distribute {
// Placement only (single CPU here): recorded, and snapshots always hold the full tensor.
struct Distribute {
  int64_t split_axis = -1;
};
inline Distribute broadcast() { return {}; }
inline Distribute split(int64_t axis) { return {axis}; }
}  // namespace distribute

struct GetVariableOptions {
  DataType dtype = DataType::kFloat;
  // Required (OneFlow has no default either): an error names the variable when absent.
  std::optional<Initializer> initializer;
  Regularizer regularizer;
  bool trainable = true;
  std::string model_name;
  // Overrides the (session seed, name) stream.
  std::optional<int64_t> random_seed;
  distribute::Distribute distribute;
  bool reuse = true;
};

Blob get_variable(const std::string& name, const Shape& shape,
                  const GetVariableOptions& options = {});

}  // namespace flow

// One op run outside training, for the forward-value and shape-error tests of ops: a fresh
// session and predict job over placeholders of the inputs' shapes and dtypes.
//
//   absl::StatusOr<Tensor> y = ApplyOp([](const std::vector<Blob>& in) { return nn::relu(in[0]); },
//                                      {x});
//   absl::Status error = CompileOpError(op, {{2, 3}, {4, 5}});  // float32 placeholders
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/gradcheck.h"

namespace flow::testing {

// `op` on `inputs`; its single output.
absl::StatusOr<Tensor> ApplyOp(const OpFn& op, const std::vector<Tensor>& inputs);

// The error compiling `op` over float32 placeholders of these shapes (OK if it compiles).
absl::Status CompileOpError(const OpFn& op, const std::vector<Shape>& shapes);

}  // namespace flow::testing

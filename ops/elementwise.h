// Shared helpers for element-wise float kernels over bound tensors (OpenMP-parallel loops).
#pragma once

#include <functional>

#include "absl/strings/str_cat.h"
#include "ops/op_registry.h"
#include "runtime/kernel.h"

namespace flow {

// Output 0 has the shape and dtype of input 0; every input must equal it and be kFloat.
absl::StatusOr<std::vector<BlobDesc>> SameShapeFloatInputs(const ShapeContext& ctx);

// A kernel running `body(begin, end)` over [0, n) in parallel chunks.
class ParallelLoopKernel : public Kernel {
 public:
  ParallelLoopKernel(int64_t n, std::function<void(int64_t, int64_t)> body)
      : n_(n), body_(std::move(body)) {}
  absl::Status Run() override;

 private:
  int64_t n_;
  std::function<void(int64_t, int64_t)> body_;
};

}  // namespace flow

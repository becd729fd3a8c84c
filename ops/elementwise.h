// Shared helpers for element-wise float kernels over bound tensors (OpenMP-parallel loops).
#pragma once

#include <functional>

#include "absl/strings/str_cat.h"
#include "framework/op_registry.h"
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

// out[i] = f(in0[i]) over output 0's elements: the kernel of a unary float op.
//   return MakeMapKernel(ctx, [](float x) { return std::exp(x); });
template <typename F>
std::unique_ptr<Kernel> MakeMapKernel(const KernelContext& ctx, F f) {
  const float* x = ctx.in<float>(0);
  float* out = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(ctx.outputs[0].num_elements(),
                                              [=](int64_t begin, int64_t end) {
#pragma omp simd
                                                for (int64_t i = begin; i < end; ++i)
                                                  out[i] = f(x[i]);
                                              });
}

// out[i] = f(in0[i], in1[i]): the kernel of a binary float op and of most gradient ops
// (f(dy, x) or f(dy, y)).
template <typename F>
std::unique_ptr<Kernel> MakeZipKernel(const KernelContext& ctx, F f) {
  const float* a = ctx.in<float>(0);
  const float* b = ctx.in<float>(1);
  float* out = ctx.out<float>(0);
  return std::make_unique<ParallelLoopKernel>(ctx.outputs[0].num_elements(),
                                              [=](int64_t begin, int64_t end) {
#pragma omp simd
                                                for (int64_t i = begin; i < end; ++i)
                                                  out[i] = f(a[i], b[i]);
                                              });
}

}  // namespace flow

// Helpers for kernels built on oneDNN primitives: memory objects over bound tensors, and a kernel
// that executes a list of primitives with argument arrays prepared at compile time (through the
// C API, so a step does not build the std::unordered_map the C++ execute() takes).
#pragma once

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "runtime/dnnl_context.h"
#include "runtime/kernel.h"
#include "runtime/layout.h"

namespace flow {

// A oneDNN memory over the tensor's bytes with the given plain layout.
dnnl::memory DnnlMemory(const Tensor& tensor, dnnl::memory::format_tag tag);
dnnl::memory::desc DnnlDesc(const Shape& shape, dnnl::memory::format_tag tag);
// The f32 (N, C, H, W) descriptor of a blob stored in `layout` (nchw or nChw{16,8}c).
dnnl::memory::desc DnnlDesc(const Shape& shape, Layout layout);
dnnl::memory::dims DnnlDims(const Shape& shape);

// Primitive attributes asking for a user-mode scratchpad: DnnlKernel::Add allocates it once, at
// compile time, instead of leaving it to oneDNN's library-managed scratchpad.
dnnl::primitive_attr UserScratchpad();

// One primitive with its arguments.
class DnnlStep {
 public:
  DnnlStep(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args);
  void Execute() const;

 private:
  dnnl::primitive primitive_;
  std::vector<dnnl::memory> memories_;  // keeps the handles alive
  std::vector<dnnl_exec_arg_t> args_;
};

// A kernel running oneDNN primitives between bound tensors. A tensor stored otherwise than its
// primitive wants (a plain blob for a convolution that computes in nChw16c, say) goes through a
// buffer the kernel owns: inputs are reordered into it before the primitives run, outputs out of
// it after. Buffers and user-mode scratchpads are allocated here, once; Run() allocates nothing.
class DnnlKernel : public Kernel {
 public:
  // The memory to pass as a primitive's input: `tensor` itself when `stored` == `wanted`.
  dnnl::memory Input(const Tensor& tensor, const dnnl::memory::desc& stored,
                     const dnnl::memory::desc& wanted);
  // The memory to pass as a primitive's output, which produces `produced`.
  dnnl::memory Output(const Tensor& tensor, const dnnl::memory::desc& stored,
                      const dnnl::memory::desc& produced);
  // Appends a compute step; with a non-empty `scratchpad`, also a scratchpad buffer for it.
  void Add(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args);
  void Add(dnnl::primitive primitive, const dnnl::memory::desc& scratchpad,
           std::vector<std::pair<int, dnnl::memory>> args);

  absl::Status Run() override;

 private:
  dnnl::memory Buffer(const dnnl::memory::desc& desc);

  std::vector<Tensor> buffers_;
  std::vector<DnnlStep> before_, steps_, after_;
};

// Runs `make` and turns a dnnl::error (an unsupported configuration) into a Status.
template <typename Fn>
absl::StatusOr<std::unique_ptr<Kernel>> CatchDnnl(Fn&& make) {
  try {
    return make();
  } catch (const dnnl::error& e) {
    return absl::InternalError(std::string("oneDNN: ") + e.what());
  }
}

}  // namespace flow

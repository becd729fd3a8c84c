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

namespace flow {

// A oneDNN memory over the tensor's bytes with the given plain layout.
dnnl::memory DnnlMemory(const Tensor& tensor, dnnl::memory::format_tag tag);
dnnl::memory::desc DnnlDesc(const Shape& shape, dnnl::memory::format_tag tag);
dnnl::memory::dims DnnlDims(const Shape& shape);

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

// A kernel that runs its steps in order (e.g. reorder in, compute, reorder out).
class DnnlKernel : public Kernel {
 public:
  void Add(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args) {
    steps_.emplace_back(std::move(primitive), std::move(args));
  }
  absl::Status Run() override {
    for (const DnnlStep& step : steps_) step.Execute();
    return absl::OkStatus();
  }

 private:
  std::vector<DnnlStep> steps_;
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

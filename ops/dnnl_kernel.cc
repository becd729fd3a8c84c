#include "ops/dnnl_kernel.h"

namespace flow {

dnnl::memory::dims DnnlDims(const Shape& shape) {
  return dnnl::memory::dims(shape.dims().begin(), shape.dims().end());
}

dnnl::memory::desc DnnlDesc(const Shape& shape, dnnl::memory::format_tag tag) {
  return dnnl::memory::desc(DnnlDims(shape), dnnl::memory::data_type::f32, tag);
}

dnnl::memory DnnlMemory(const Tensor& tensor, dnnl::memory::format_tag tag) {
  return dnnl::memory(DnnlDesc(tensor.shape(), tag), CpuEngine(),
                      const_cast<void*>(tensor.raw_data()));
}

DnnlStep::DnnlStep(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args)
    : primitive_(std::move(primitive)) {
  for (auto& [arg, memory] : args) {
    args_.push_back({arg, memory.get()});
    memories_.push_back(std::move(memory));
  }
}

void DnnlStep::Execute() const {
  const dnnl_status_t status = dnnl_primitive_execute(primitive_.get(), CpuStream().get(),
                                                      static_cast<int>(args_.size()), args_.data());
  CHECK(status == dnnl_success) << "oneDNN execute failed: " << static_cast<int>(status);
}

}  // namespace flow

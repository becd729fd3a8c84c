#include "runtime/layout.h"

#include "oneapi/dnnl/dnnl.hpp"

namespace flow {

int64_t BlockedChannels() {
  static const int64_t channels = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
    return (isa & avx512) == avx512 ? 16 : 8;
  }();
  return channels;
}

bool CanBlock(const Shape& shape) {
  return shape.rank() == 4 && shape[1] > 0 && shape[1] % BlockedChannels() == 0;
}

}  // namespace flow

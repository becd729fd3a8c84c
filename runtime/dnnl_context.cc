#include "runtime/dnnl_context.h"

namespace flow {

dnnl::engine& CpuEngine() {
  static auto* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream& CpuStream() {
  static auto* stream = new dnnl::stream(CpuEngine());
  return *stream;
}

}  // namespace flow

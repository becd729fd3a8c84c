#include "runtime/dnnl_context.h"

namespace flow {

dnnl::engine& CpuEngine() {
  static auto* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

// One stream per thread: a oneDNN stream is not meant to be shared by threads executing at once,
// and graph/predictor.h runs compiled jobs from several threads (primitives themselves are
// thread-safe to execute concurrently; each job has its own arena).
dnnl::stream& CpuStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

}  // namespace flow

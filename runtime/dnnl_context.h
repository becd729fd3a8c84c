// The process's oneDNN CPU engine and the calling thread's in-order stream kernels execute on. Internal to
// ops/ and runtime/: public headers never expose oneDNN types.
#pragma once

#include "oneapi/dnnl/dnnl.hpp"

namespace flow {

dnnl::engine& CpuEngine();
dnnl::stream& CpuStream();

}  // namespace flow

// The process's oneDNN CPU engine and the in-order stream every kernel executes on. Internal to
// ops/ and runtime/: public headers never expose oneDNN types.
#pragma once

#include "oneapi/dnnl/dnnl.hpp"

namespace flow {

dnnl::engine& CpuEngine();
dnnl::stream& CpuStream();

}  // namespace flow

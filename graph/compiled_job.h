// What a compiled JobFunction is underneath: its job IR (forward, backward and optimizer ops)
// and the executor running it. Internal (not installed, since both are protobuf- and
// oneDNN-facing): for the graph view, the op profile, benchmarks and tests.
//
//   FLOWRT_RETURN_IF_ERROR(job.Compile());
//   for (const flowrt::OpConf& op : CompiledJob::Job(job).op()) ...;
//   int64_t bytes = CompiledJob::GetExecutor(job).arena_bytes();
#pragma once

#include "graph/global_function.h"
#include "proto/job.pb.h"
#include "runtime/executor.h"

namespace flow {

struct CompiledJob {
  // Both require function.compiled().
  static const flowrt::JobConf& Job(const JobFunction& function);
  static Executor& GetExecutor(const JobFunction& function);
};

}  // namespace flow

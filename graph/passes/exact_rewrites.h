// The graph's compile-time rewrites (graph/passes/), in the order a job function's compile runs
// them, each one switchable off: every rewrite is exact, so training is bit-identical with any
// of them off (tests/runtime/exact_compile_options_test.cc); off only to compare or to debug.
//
//   Session session({.rewrites = {.relu_grad_into_max_pool_grad = false}});
//   RunExactRewrites(options, &job);  // what JobFunction::Compile does before the executor
#pragma once

#include "graph/session.h"  // ExactRewrites, a session option
#include "proto/job.pb.h"

namespace flow {

// Applies the rewrites `options` keeps on to `job`; returns how many ops they rewrote.
int RunExactRewrites(const ExactRewrites& options, flowrt::JobConf* job);

}  // namespace flow

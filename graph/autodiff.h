// Reverse-mode autodiff as a graph pass: it appends ordinary ops (each op's gradient rule, from
// its own file in ops/, written against framework/grad_context.h) to the job being recorded, so
// backward runs through the same executor, memory plan and kernels as forward. The pass owns
// fan-out accumulation, pruning of ops that do not lie between `xs` and `ys`, and deterministic
// names ("<forward op>_grad", ...).
//
//   // d(sum(loss * seed)) / d(weight), like tf.gradients:
//   std::vector<Blob> grads = Gradients({loss}, {weight}, {seed});
#pragma once

#include <vector>

#include "framework/grad_context.h"
#include "framework/job_builder.h"

namespace flow {

// Gradients of sum_i(sum(ys[i] * grad_ys[i])) with respect to each of `xs`, emitted into the job
// of `ys`. grad_ys empty means ones. An x that `ys` does not depend on gets a failed blob (no
// error): callers decide whether that matters. Errors (an op on the path without a gradient rule)
// are recorded in the job and returned.
absl::StatusOr<std::vector<Blob>> Gradients(const std::vector<Blob>& ys,
                                            const std::vector<Blob>& xs,
                                            const std::vector<Blob>& grad_ys = {});

}  // namespace flow

// OneFlow's flow.watch and flow.watch_diff: see a blob's value, or its gradient, as the job runs.
//
//   flow::watch(hidden, [](const flow::Tensor& h) { std::cout << h.mean() << "\n"; });
//   flow::watch_diff(logits, [](const flow::Tensor& d) { ... });   // before minimize(loss)
//
// Called inside a global_function body. After every run of the job, each callback gets the
// blob's value (a plain, C-order view, valid during the call) in the order the watches were
// declared. watch_diff reports d(loss)/d(blob) as the backward pass computed it (the mean loss,
// times the optimizer's loss scale); it must come before the train job's minimize(loss), which
// emits the gradients. Watched blobs are fetched like the body's outputs, so a job that watches
// nothing runs exactly as before.
#pragma once

#include <functional>

#include "framework/blob.h"
#include "runtime/tensor.h"

namespace flow {

using WatchCallback = std::function<void(const Tensor&)>;

void watch(const Blob& blob, WatchCallback callback);
void watch_diff(const Blob& blob, WatchCallback callback);

}  // namespace flow

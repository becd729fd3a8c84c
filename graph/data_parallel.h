// Data-parallel gradients (OneFlow's partial_sum → broadcast boxing): under `mpirun -np N` each
// rank's backward pass yields the gradient of the mean loss over its own 1/N of the batch;
// averaging them over the ranks gives the gradient of the mean over the global batch, which is
// what one process computes (up to summation order). Optimizer::minimize calls this once, for
// every optimizer, before clipping and the updates. Internal (not installed).
//
//   if (Communicator::World().distributed()) AverageGradientsOverRanks(builder, &grads,
//   world.size());
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "framework/blob.h"
#include "proto/job.pb.h"
#include "runtime/tensor.h"

namespace flow {

class JobBuilder;

// Bytes of gradients fused into one all-reduce (tools/bench/RESULTS.md measured it); the
// environment variable FLOWRT_BUCKET_BYTES overrides it, for that measurement.
int64_t GradientBucketBytes();

// Replaces each ok grads[i] by its mean over `num_ranks` ranks. Grads are grouped, in the order
// the backward pass produces them, into buckets of about GradientBucketBytes(); each bucket is an
// allreduce_start placed right after the op producing its last gradient (so the reduction runs
// while the rest of the backward pass computes) and one allreduce_wait per gradient.
void AverageGradientsOverRanks(JobBuilder* builder, std::vector<Blob>* grads, int num_ranks);

// Which fetches of `job` (compiled for this rank's rows) are split along axis 0, and are
// all-gathered so the caller sees the global shape: those whose axis 0 is the placeholders'
// per-rank batch (the per-example loss, the logits), except variables. Anything else (a mean,
// a weight) is the rank's own value.
std::vector<bool> SplitFetches(const flowrt::JobConf& job);

// A hash of the job (deterministic serialization) and `extra` (the session seed), equal on two
// ranks iff they compiled the same job.
uint64_t JobHash(const flowrt::JobConf& job, uint64_t extra);

// Collective: every rank must have compiled a job with the same hash. Otherwise every rank gets
// the same FailedPrecondition naming the job and the ranks that differ from rank 0.
absl::Status CheckSameOnEveryRank(uint64_t hash, const std::string& what);

// Collective: each value takes rank 0's bytes (in map order, which is equal on every rank).
void BroadcastFromRankZero(std::map<std::string, Tensor>& values);

}  // namespace flow

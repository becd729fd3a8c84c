// Shape inference over a whole job: every blob's shape and dtype, op by op in the job's order,
// from each op type's shape function. The executor runs it on the job it executes (after the
// graph rewrites); the ONNX exporter on the job as the user recorded it.
//
//   FLOWRT_ASSIGN_OR_RETURN(auto descs, InferBlobDescs(job, FindKernelDef));
//   descs.at("conv1/out").shape;
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "proto/job.pb.h"
#include "runtime/kernel_def.h"

namespace flow {

// Errors: an op of unknown type, an op reading a blob no earlier op produced, and whatever an op's
// shape function refuses (it names the op).
absl::StatusOr<std::map<std::string, BlobDesc>> InferBlobDescs(const flowrt::JobConf& job,
                                                               const KernelDefLookup& kernel_defs);

}  // namespace flow

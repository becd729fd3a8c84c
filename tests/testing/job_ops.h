// What the graph-rewrite tests (tests/graph/*_into_*_test.cc) ask of a job's op list.
#pragma once

#include <string>

#include "proto/job.pb.h"

namespace flow::testing {

// How many ops of `type` the job has.
inline int CountType(const flowrt::JobConf& job, const std::string& type) {
  int n = 0;
  for (const flowrt::OpConf& op : job.op()) n += op.type() == type;
  return n;
}

}  // namespace flow::testing

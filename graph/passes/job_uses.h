// Who writes and who reads each blob of a job: what the graph passes (graph/passes/) look up
// before rewriting a pattern.
//
//   const JobUses uses(job);
//   const flowrt::OpConf* pool_grad = uses.Producer(job, dy, "max_pool2d_grad");
//   if (pool_grad != nullptr && uses.Readers(dy) == 1) ...  // dy feeds nothing else
#pragma once

#include <map>
#include <set>
#include <string>

#include "proto/job.pb.h"

namespace flow {

struct JobUses {
  explicit JobUses(const flowrt::JobConf& job);

  // The op of type `type` that writes `blob`, or null (no producer, or another type).
  const flowrt::OpConf* Producer(const flowrt::JobConf& job, const std::string& blob,
                                 const char* type) const;
  // How many ops read `blob`, plus one if the job fetches it.
  int Readers(const std::string& blob) const;

  std::map<std::string, int> producer;  // blob → index of the op writing it
  std::map<std::string, int> readers;   // blob → number of reading ops (+1 if fetched)
};

// Removes the ops at `indices` from `job`, keeping the order of the others.
void EraseOps(const std::set<int>& indices, flowrt::JobConf* job);

}  // namespace flow

#include "graph/passes/job_uses.h"

namespace flow {

JobUses::JobUses(const flowrt::JobConf& job) {
  for (int i = 0; i < job.op_size(); ++i) {
    for (const std::string& in : job.op(i).input()) ++readers[in];
    for (const std::string& out : job.op(i).output()) producer[out] = i;
  }
  for (const std::string& fetch : job.fetch()) ++readers[fetch];
}

const flowrt::OpConf* JobUses::Producer(const flowrt::JobConf& job, const std::string& blob,
                                        const char* type) const {
  auto it = producer.find(blob);
  if (it == producer.end() || job.op(it->second).type() != type) return nullptr;
  return &job.op(it->second);
}

int JobUses::Readers(const std::string& blob) const {
  auto it = readers.find(blob);
  return it == readers.end() ? 0 : it->second;
}

void EraseOps(const std::set<int>& indices, flowrt::JobConf* job) {
  if (indices.empty()) return;
  google::protobuf::RepeatedPtrField<flowrt::OpConf> ops;
  for (int i = 0; i < job->op_size(); ++i) {
    if (!indices.contains(i)) *ops.Add() = job->op(i);
  }
  job->mutable_op()->Swap(&ops);
}

}  // namespace flow

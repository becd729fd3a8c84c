#include "graph/data_parallel.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/attr.h"
#include "framework/job_builder.h"
#include "framework/op_registry.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "runtime/communicator.h"
#include "runtime/random.h"

namespace flow {
namespace {

// LeNet's 6.65 MB of gradients are dominated by dense1's 6.4 MB weight, produced early in the
// backward pass; 1 MiB buckets send it (with dense2's) while conv2 and conv1 still compute, and
// the small conv gradients travel as one more message.
constexpr int64_t kDefaultBucketBytes = 1 << 20;

// Moves every allreduce_start op to just after the last op producing one of its inputs: the job
// runs in op order, so the reduction starts as soon as its bucket is complete.
void PlaceStartsAfterProducers(flowrt::JobConf* job) {
  std::map<std::string, int> producer;  // blob → index of the op writing it
  std::vector<flowrt::OpConf> others;
  std::multimap<int, flowrt::OpConf> starts;  // keyed by the index to follow
  for (const flowrt::OpConf& op : job->op()) {
    if (op.type() != "allreduce_start") {
      for (const std::string& out : op.output()) producer[out] = static_cast<int>(others.size());
      others.push_back(op);
      continue;
    }
    int last = -1;
    for (const std::string& in : op.input()) last = std::max(last, producer.at(in));
    starts.emplace(last, op);
  }
  job->clear_op();
  for (int i = 0; i < static_cast<int>(others.size()); ++i) {
    *job->add_op() = std::move(others[i]);
    auto [first, end] = starts.equal_range(i);
    for (auto it = first; it != end; ++it) *job->add_op() = std::move(it->second);
  }
}

}  // namespace

int64_t GradientBucketBytes() {
  const char* env = std::getenv("FLOWRT_BUCKET_BYTES");
  if (env != nullptr && std::atoll(env) > 0) return std::atoll(env);
  return kDefaultBucketBytes;
}

void AverageGradientsOverRanks(JobBuilder* builder, std::vector<Blob>* grads, int num_ranks) {
  std::map<std::string, int> position;  // blob → index of its producer in the recorded job
  for (int i = 0; i < builder->job().op_size(); ++i) {
    for (const std::string& out : builder->job().op(i).output()) position[out] = i;
  }
  std::vector<size_t> order;  // grads in production order
  for (size_t i = 0; i < grads->size(); ++i) {
    if ((*grads)[i].ok()) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return position.at((*grads)[a].name()) < position.at((*grads)[b].name());
  });
  const int64_t limit = GradientBucketBytes();
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = limit;  // start a new bucket first
  for (size_t i : order) {
    if (bytes >= limit) buckets.emplace_back(), bytes = 0;
    buckets.back().push_back(i);
    bytes += (*grads)[i].shape().NumElements() * 4;
  }
  for (size_t b = 0; b < buckets.size(); ++b) {
    OpBuilder start("allreduce_start");
    start.Name(absl::StrCat("System-Train-AllReduce-", b));
    for (size_t i : buckets[b]) start.Input((*grads)[i]);
    const Blob bucket = start.Build1();
    int64_t offset = 0;
    for (size_t i : buckets[b]) {
      const Blob& grad = (*grads)[i];
      const std::vector<int64_t> dims = grad.shape().dims();
      Blob mean = OpBuilder("allreduce_wait")
                      .Name(absl::StrCat("System-Train-AllReduce-", b, "-Wait"))
                      .Input(bucket)
                      .Attr("offset", offset)
                      .Attr("shape", dims)
                      .Attr("num_ranks", num_ranks)
                      .Build1();
      offset += grad.shape().NumElements();
      (*grads)[i] = mean;
    }
  }
  PlaceStartsAfterProducers(builder->mutable_job());
}

std::vector<bool> SplitFetches(const flowrt::JobConf& job) {
  // Bodies bake the per-rank batch into their shapes (reshape(x, {x.shape()[0], -1}) records
  // the number), so the job cannot be re-inferred at the global batch; the batch is recognised
  // by its size instead: axis 0 equal to the placeholders' per-rank batch.
  std::map<std::string, const flowrt::OpConf*> producer;
  std::map<std::string, BlobDesc> descs;
  int64_t batch = -1;
  for (const flowrt::OpConf& op : job.op()) {
    ShapeContext ctx{op, {}};
    for (const std::string& in : op.input()) ctx.inputs.push_back(descs.at(in));
    const std::vector<BlobDesc> outs = *FindOp(op.type())->shape_fn(ctx);  // compiled: valid
    for (int i = 0; i < op.output_size(); ++i) {
      descs[op.output(i)] = outs[i];
      producer[op.output(i)] = &op;
    }
    if (op.type() == "input" && batch < 0 && outs[0].shape.rank() > 0) batch = outs[0].shape[0];
  }
  std::vector<bool> split(job.fetch_size(), false);
  for (int i = 0; i < job.fetch_size(); ++i) {
    const Shape& shape = descs.at(job.fetch(i)).shape;
    split[i] = batch > 0 && shape.rank() > 0 && shape[0] == batch &&
               producer.at(job.fetch(i))->type() != "variable";
  }
  return split;
}

uint64_t JobHash(const flowrt::JobConf& job, uint64_t extra) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);  // attrs are a map
    job.SerializeToCodedStream(&coded);
  }
  return CombineSeeds(StableHash64(bytes), extra);
}

absl::Status CheckSameOnEveryRank(uint64_t hash, const std::string& what) {
  const std::vector<uint64_t> all = Communicator::World().Allgather(hash);
  std::vector<int> differ;
  for (int r = 1; r < static_cast<int>(all.size()); ++r) {
    if (all[r] != all[0]) differ.push_back(r);
  }
  if (differ.empty()) return absl::OkStatus();
  // Every rank saw the same hashes: Agree makes the refusal a clean, collective one.
  return Communicator::World().Agree(absl::FailedPreconditionError(absl::StrCat(
      "the ranks of this mpirun differ: ", what, " on rank(s) ", absl::StrJoin(differ, ", "),
      " differs from rank 0's (every rank must run the same program with the same flags)")));
}

void BroadcastFromRankZero(std::map<std::string, Tensor>& values) {
  for (auto& [name, value] : values) {
    Communicator::World().Broadcast(value.raw_data(), value.num_bytes(), 0);
  }
}

}  // namespace flow

// The data-parallel parts that one process can check (the runs under mpirun are tests/mpi/):
// where minimize puts the gradient all-reduce ops and what they cover, which fetches are
// gathered, and that dropout masks follow the example's global index.
#include "graph/data_parallel.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "framework/attr.h"
#include "framework/job_builder.h"
#include "framework/op_registry.h"
#include "graph/flow.h"

namespace flow {
namespace {

// A 784-64-10 MLP with dropout, recorded for `ranks` ranks at per-rank batch 30.
flowrt::JobConf RecordMlp(int ranks) {
  JobBuilder builder("train_job", flowrt::kTrain);
  builder.set_num_ranks(ranks);
  JobBuilder::Activation active(&builder);
  Blob images = builder.AddPlaceholder("images", Shape({30, 784}), kFloat);
  Blob labels = builder.AddPlaceholder("labels", Shape({30}), kInt32);
  Blob h = layers::dense(images, 64, {.activation = nn::relu, .name = "dense1"});
  h = nn::dropout(h, 0.5);
  Blob logits = layers::dense(h, 10, {.name = "dense2"});
  Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
  optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1}), {.momentum = 0.9f})
      .minimize(loss);
  EXPECT_TRUE(builder.status().ok()) << builder.status();
  builder.mutable_job()->add_fetch(loss.name());
  return builder.job();
}

int CountOps(const flowrt::JobConf& job, const std::string& type) {
  int n = 0;
  for (const flowrt::OpConf& op : job.op()) n += op.type() == type;
  return n;
}

TEST(DataParallelTest, OneRankRecordsNoCommunication) {
  const flowrt::JobConf job = RecordMlp(1);
  EXPECT_EQ(CountOps(job, "allreduce_start"), 0);
  EXPECT_EQ(CountOps(job, "allreduce_wait"), 0);
}

TEST(DataParallelTest, EveryUpdateReadsAGradientAveragedOverTheRanks) {
  setenv("FLOWRT_BUCKET_BYTES", "1000", 1);  // small buckets: several of them
  const flowrt::JobConf job = RecordMlp(3);
  unsetenv("FLOWRT_BUCKET_BYTES");
  std::map<std::string, const flowrt::OpConf*> producer;
  std::map<std::string, int> index;
  for (int i = 0; i < job.op_size(); ++i) {
    for (const std::string& out : job.op(i).output()) {
      producer[out] = &job.op(i);
      index[out] = i;
    }
  }
  int updates = 0;
  for (const flowrt::OpConf& op : job.op()) {
    if (op.type() != "momentum_update") continue;
    ++updates;
    bool reads_mean = false;
    for (const std::string& in : op.input()) {
      const flowrt::OpConf* p = producer.at(in);
      if (p->type() == "allreduce_wait") {
        reads_mean = true;
        EXPECT_EQ(AttrInt(*p, "num_ranks"), 3);
      }
    }
    EXPECT_TRUE(reads_mean) << op.name() << " updates with a gradient no all-reduce averaged";
  }
  EXPECT_EQ(updates, 4);  // two weights, two biases
  EXPECT_EQ(CountOps(job, "allreduce_wait"), 4);
  // dense1-weight alone is 784·64·4 bytes > 1000: several buckets.
  EXPECT_GE(CountOps(job, "allreduce_start"), 2);
  // Each start directly follows the last producer of its gradients (overlap with backward), and
  // its bucket holds exactly the elements its waits slice.
  for (int i = 0; i < job.op_size(); ++i) {
    const flowrt::OpConf& start = job.op(i);
    if (start.type() != "allreduce_start") continue;
    int last = -1;
    for (const std::string& in : start.input()) last = std::max(last, index.at(in));
    int k = i - 1;
    while (job.op(k).type() == "allreduce_start") --k;  // starts of the same producer
    EXPECT_EQ(k, last) << start.name();
  }
}

TEST(DataParallelTest, StartsBeforeTheBackwardPassEnds) {
  setenv("FLOWRT_BUCKET_BYTES", "1000", 1);  // dense2's gradients fill the first bucket
  const flowrt::JobConf job = RecordMlp(2);
  unsetenv("FLOWRT_BUCKET_BYTES");
  int first_start = -1, last_backward = -1;
  for (int i = 0; i < job.op_size(); ++i) {
    const std::string& type = job.op(i).type();
    if (type == "allreduce_start" && first_start < 0) first_start = i;
    const OpSchema* schema = FindOp(type);
    if (!schema->optimizer && type != "variable" && type != "input") last_backward = i;
  }
  ASSERT_GE(first_start, 0);
  EXPECT_LT(first_start, last_backward) << "dense2's bucket should start before dense1's backward";
}

TEST(DataParallelTest, BatchMajorFetchesAreGathered) {
  const flowrt::JobConf job = RecordMlp(2);
  flowrt::JobConf with_weight = job;
  for (const flowrt::OpConf& op : job.op()) {  // (784, 64): a variable, never gathered
    if (op.type() == "variable" && op.name() == "dense1-weight") {
      with_weight.add_fetch(op.output(0));
    }
  }
  const std::vector<bool> split = SplitFetches(with_weight);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_TRUE(split[0]);  // the (30,) per-example loss → (60,)
  EXPECT_FALSE(split[1]);
}

TEST(DataParallelTest, JobHashSeesAttrsAndSeed) {
  const flowrt::JobConf a = RecordMlp(2), b = RecordMlp(2);
  EXPECT_EQ(JobHash(a, 1), JobHash(b, 1));
  EXPECT_NE(JobHash(a, 1), JobHash(a, 2));
  EXPECT_NE(JobHash(a, 1), JobHash(RecordMlp(3), 1));  // num_ranks attr differs
}

// Dropout's mask of rank r's slice is the one-process mask of the same rows of the global batch.
std::vector<uint8_t> DropoutMask(int64_t rows, int64_t cols, int64_t shard) {
  flowrt::OpConf op;
  op.set_name("dropout");
  op.set_type("dropout");
  (*op.mutable_attr())["rate"] = MakeAttr(0.5f);
  Tensor x(Shape({rows, cols}), kFloat), y(Shape({rows, cols}), kFloat),
      mask(Shape({rows, cols}), kUInt8);
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = 1.f;
  const int64_t step = 4;
  ExecEnv env{.is_train = true, .session_seed = 9, .train_step = &step, .shard = shard};
  KernelContext ctx{op, {x}, {y, mask}, env};
  std::unique_ptr<Kernel> kernel = *FindOp("dropout")->kernel_fn(ctx);
  EXPECT_TRUE(kernel->Run().ok());
  return std::vector<uint8_t>(mask.data<uint8_t>(), mask.data<uint8_t>() + mask.num_elements());
}

TEST(DataParallelTest, DropoutMaskFollowsTheGlobalExampleIndex) {
  // 7 columns: a rank's slice starts mid-Philox-block (3 rows · 7 = 21 elements).
  const std::vector<uint8_t> global = DropoutMask(9, 7, 0);
  for (int64_t shard = 0; shard < 3; ++shard) {
    const std::vector<uint8_t> local = DropoutMask(3, 7, shard);
    EXPECT_EQ(local,
              std::vector<uint8_t>(global.begin() + shard * 21, global.begin() + (shard + 1) * 21))
        << "shard " << shard;
  }
}

}  // namespace
}  // namespace flow

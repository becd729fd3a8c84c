// flow::checkpoint::save / get / flow::load_variables over real sessions: the fine-tune and
// exact-resume paths of the seed's scripts, on a small MLP (no data files needed).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "graph/checkpoint.h"
#include "graph/flow.h"
#include "tests/checkpoint/checkpoint_test_util.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using checkpoint::testing::ReadFile;
using checkpoint::testing::ScratchDir;
using checkpoint::testing::WriteFile;

Blob MlpLoss(Blob x, Blob labels, bool extra_layer) {
  auto init = truncated_normal(0.1);
  Blob h =
      layers::dense(x, 16, {.activation = nn::relu, .kernel_initializer = init, .name = "dense1"});
  Blob logits = layers::dense(h, 4, {.kernel_initializer = init, .name = "dense2"});
  if (extra_layer)
    logits = layers::dense(logits, 4, {.kernel_initializer = init, .name = "dense3"});
  return nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
}

JobFunction MakeTrainJob(Session& session, float momentum, bool extra_layer = false) {
  return global_function(
      session, "train_job", JobType::kTrain,
      [momentum, extra_layer](Blob x, Blob labels) {
        Blob loss = MlpLoss(x, labels, extra_layer);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({3}, {0.2f, 0.05f}),
                       {.momentum = momentum})
            .minimize(loss);
        return loss;
      },
      Placeholder({8, 6}), Placeholder({8}, kInt32));
}

Tensor Batch(int step) { return testing::RandomTensor({8, 6}, 100 + step); }
Tensor Labels(int step) {
  Tensor t(Shape({8}), kInt32);
  for (int i = 0; i < 8; ++i) t.data<int32_t>()[i] = (i * 7 + step) % 4;
  return t;
}

void TrainSteps(JobFunction& job, int from, int to) {
  for (int s = from; s < to; ++s) ASSERT_TRUE(job.Run({Batch(s), Labels(s)}).ok());
}

TEST(CheckpointApiTest, SavesEveryVariableInOneFlowLayout) {
  ScratchDir dir;
  Session session({.seed = 3});
  JobFunction job = MakeTrainJob(session, 0.9f);
  TrainSteps(job, 0, 2);
  ASSERT_TRUE(checkpoint::save(dir.File("snap"), session).ok());
  EXPECT_EQ(ReadFile(dir.File("snap/dense2-weight/meta")),
            "shape {\n  dim: 4\n  dim: 16\n}\ndata_type: kFloat\n");
  EXPECT_EQ(ReadFile(dir.File("snap/System-Train-TrainStep-train_job/meta")),
            "shape {\n  dim: 1\n}\ndata_type: kInt64\n");
  const std::string step = ReadFile(dir.File("snap/System-Train-TrainStep-train_job/out"));
  ASSERT_EQ(step.size(), 8u);
  EXPECT_EQ(step, std::string("\x02\0\0\0\0\0\0\0", 8));  // little-endian int64 2
  EXPECT_EQ(ReadFile(dir.File("snap/dense1-weight-momentum/out")).size(), 16u * 6 * 4);
  EXPECT_EQ(ReadFile(dir.File("snap/snapshot_done")), "");
  // Saving again onto a non-empty directory is refused and leaves it alone.
  absl::Status again = checkpoint::save(dir.File("snap"), session);
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(ReadFile(dir.File("snap/System-Train-TrainStep-train_job/out")), step);
}

// OneFlow's save calls os.makedirs: save("a/b/c") makes a and a/b. A parent that cannot be made
// is an error naming it, and nothing is written.
TEST(CheckpointApiTest, SaveMakesMissingParentsAndNamesOneThatCannotBeMade) {
  ScratchDir dir;
  Session session({.seed = 3});
  JobFunction job = MakeTrainJob(session, 0.0f);
  TrainSteps(job, 0, 1);
  ASSERT_TRUE(checkpoint::save(dir.File("a/b/c"), session).ok());
  EXPECT_TRUE(std::filesystem::exists(dir.File("a/b/c/snapshot_done")));
  EXPECT_TRUE(checkpoint::get(dir.File("a/b/c")).ok());

  WriteFile(dir.File("file"), "not a directory");
  const absl::Status blocked = checkpoint::save(dir.File("file/b/c"), session);
  EXPECT_FALSE(blocked.ok());
  EXPECT_THAT(blocked.message(), ::testing::HasSubstr(dir.File("file") + " is a regular file"));
  EXPECT_EQ(ReadFile(dir.File("file")), "not a directory");
}

TEST(CheckpointApiTest, ResumeIsBitIdenticalToAnUninterruptedRun) {
  ScratchDir dir;
  Session straight({.seed = 5, .threads = 1});
  JobFunction straight_job = MakeTrainJob(straight, 0.9f);
  TrainSteps(straight_job, 0, 6);

  Session first({.seed = 5, .threads = 1});
  JobFunction first_job = MakeTrainJob(first, 0.9f);
  TrainSteps(first_job, 0, 2);  // crosses no schedule boundary yet; the resumed part does
  ASSERT_TRUE(checkpoint::save(dir.File("k2"), first).ok());

  Session resumed({.seed = 999, .threads = 1});  // a different seed: everything must come from disk
  JobFunction resumed_job = MakeTrainJob(resumed, 0.9f);
  ASSERT_TRUE(resumed_job.Compile().ok());
  absl::StatusOr<checkpoint::Snapshot> snapshot = checkpoint::get(dir.File("k2"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  absl::StatusOr<LoadReport> report = load_variables(*snapshot, true, resumed);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->missing.empty());
  EXPECT_TRUE(report->unexpected.empty());
  TrainSteps(resumed_job, 2, 6);

  auto a = straight.get_all_variables(), b = resumed.get_all_variables();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, value] : a) {
    EXPECT_TRUE(value.BitwiseEqual(b.at(name))) << name;
  }
  EXPECT_EQ(b.at("System-Train-TrainStep-train_job").data<int64_t>()[0], 6);
}

// As the seed's fine-tune script: load right after defining the job, before its first call.
// OneFlow initializes the session (compiles every job) at load_variables, and so does flowrt.
TEST(CheckpointApiTest, FineTuneLoadsKnownLayersAndKeepsNewOnesInitialized) {
  ScratchDir dir;
  Session origin({.seed = 1});
  JobFunction origin_job = MakeTrainJob(origin, 0.f);
  TrainSteps(origin_job, 0, 3);
  ASSERT_TRUE(checkpoint::save(dir.File("mlp"), origin).ok());

  Session finetune({.seed = 2});
  JobFunction finetune_job = MakeTrainJob(finetune, 0.f, /*extra_layer=*/true);
  absl::StatusOr<LoadReport> report =
      load_variables(*checkpoint::get(dir.File("mlp")), true, finetune);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(finetune_job.compiled());
  EXPECT_EQ(report->missing, (std::vector<std::string>{"dense3-bias", "dense3-weight"}));
  EXPECT_TRUE(report->unexpected.empty());
  Session initial({.seed = 2});  // dense3 keeps the value a fresh compile gives it
  JobFunction initial_job = MakeTrainJob(initial, 0.f, /*extra_layer=*/true);
  ASSERT_TRUE(initial_job.Compile().ok());
  EXPECT_TRUE(
      finetune.FindVariable("dense3-weight")->BitwiseEqual(*initial.FindVariable("dense3-weight")));
  EXPECT_TRUE(
      finetune.FindVariable("dense1-weight")->BitwiseEqual(*origin.FindVariable("dense1-weight")));
  EXPECT_EQ(finetune.FindVariable("System-Train-TrainStep-train_job")->data<int64_t>()[0], 3);
  TrainSteps(finetune_job, 3, 4);
  EXPECT_EQ(finetune.FindVariable("System-Train-TrainStep-train_job")->data<int64_t>()[0], 4);
}

TEST(CheckpointApiTest, SaveBeforeTheFirstCallWritesTheDefinedJobsInitialValues) {
  ScratchDir dir;
  Session session({.seed = 4});
  JobFunction job = MakeTrainJob(session, 0.9f);
  ASSERT_TRUE(checkpoint::save(dir.File("init"), session).ok());
  absl::StatusOr<checkpoint::Snapshot> snapshot = checkpoint::get(dir.File("init"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(snapshot->contains("dense1-weight-momentum"));
  EXPECT_EQ(ReadFile(dir.File("init/System-Train-TrainStep-train_job/out")), std::string(8, '\0'));
  Session fresh({.seed = 4});
  JobFunction fresh_job = MakeTrainJob(fresh, 0.9f);
  ASSERT_TRUE(fresh_job.Compile().ok());
  const Tensor* dense2 = fresh.FindVariable("dense2-weight");
  EXPECT_EQ(ReadFile(dir.File("init/dense2-weight/out")),
            std::string(static_cast<const char*>(dense2->raw_data()), dense2->num_bytes()));
}

TEST(CheckpointApiTest, LoadNamesADefinedJobThatDoesNotCompileAndChangesNothing) {
  ScratchDir dir;
  Session session({.seed = 1});
  JobFunction job = MakeTrainJob(session, 0.f);
  TrainSteps(job, 0, 1);
  ASSERT_TRUE(checkpoint::save(dir.File("mlp"), session).ok());
  TrainSteps(job, 1, 2);
  const Tensor before = session.FindVariable("dense1-weight")->Clone();
  JobFunction broken = global_function(
      session, "broken_job", JobType::kPredict,
      [](Blob x) { return layers::dense(x, 4, {.name = "dense1"}); },  // (8, 5): dense1 is (16, 6)
      Placeholder({8, 5}));
  absl::StatusOr<LoadReport> report =
      load_variables(*checkpoint::get(dir.File("mlp")), true, session);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("job 'broken_job'"), std::string::npos)
      << report.status();
  EXPECT_TRUE(session.FindVariable("dense1-weight")->BitwiseEqual(before));
  EXPECT_FALSE(broken.compiled());
}

TEST(CheckpointApiTest, ShapeMismatchIsRefusedAndChangesNothing) {
  ScratchDir dir;
  Session wide({.seed = 1});
  JobFunction wide_job = global_function(
      wide, "train_job", JobType::kTrain,
      [](Blob x, Blob labels) {
        auto init = truncated_normal(0.1);
        Blob h = layers::dense(
            x, 32, {.activation = nn::relu, .kernel_initializer = init, .name = "dense1"});
        Blob loss = nn::sparse_softmax_cross_entropy_with_logits(
            labels, layers::dense(h, 4, {.kernel_initializer = init, .name = "dense2"}));
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f}), {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      Placeholder({8, 6}), Placeholder({8}, kInt32));
  ASSERT_TRUE(wide_job.Compile().ok());
  ASSERT_TRUE(checkpoint::save(dir.File("wide"), wide).ok());

  Session narrow({.seed = 2});
  JobFunction narrow_job = MakeTrainJob(narrow, 0.f);
  ASSERT_TRUE(narrow_job.Compile().ok());
  std::map<std::string, Tensor> before;
  for (const auto& [name, t] : narrow.get_all_variables()) before[name] = t.Clone();
  absl::StatusOr<LoadReport> report =
      load_variables(*checkpoint::get(dir.File("wide")), true, narrow);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("dense1"), std::string::npos) << report.status();
  EXPECT_NE(report.status().message().find("(32,)"), std::string::npos) << report.status();
  EXPECT_NE(report.status().message().find("(16,)"), std::string::npos) << report.status();
  for (const auto& [name, t] : narrow.get_all_variables()) {
    EXPECT_TRUE(t.BitwiseEqual(before.at(name))) << name << " changed by a refused load";
  }
}

TEST(CheckpointApiTest, SnapshotOfAnotherJobListsEveryMisfitAndWhatIsMissing) {
  ScratchDir dir;
  Session small({.seed = 1});
  JobFunction small_job = MakeTrainJob(small, 0.f);
  ASSERT_TRUE(small_job.Compile().ok());
  ASSERT_TRUE(checkpoint::save(dir.File("small"), small).ok());

  // dense1 has 32 units here, not 16, and a dense3 the snapshot never had.
  Session other({.seed = 2});
  JobFunction other_job = global_function(
      other, "train_job", JobType::kTrain,
      [](Blob x, Blob labels) {
        auto init = truncated_normal(0.1);
        Blob h = layers::dense(
            x, 32, {.activation = nn::relu, .kernel_initializer = init, .name = "dense1"});
        Blob logits = layers::dense(h, 4, {.kernel_initializer = init, .name = "dense2"});
        logits = layers::dense(logits, 4, {.kernel_initializer = init, .name = "dense3"});
        Blob loss = nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
        optimizer::SGD(optimizer::PiecewiseConstantScheduler({}, {0.1f}), {.momentum = 0})
            .minimize(loss);
        return loss;
      },
      Placeholder({8, 6}), Placeholder({8}, kInt32));
  ASSERT_TRUE(other_job.Compile().ok());
  absl::StatusOr<LoadReport> report =
      load_variables(*checkpoint::get(dir.File("small")), true, other);
  ASSERT_FALSE(report.ok());
  const std::string message(report.status().message());
  for (const char* expected : {"snapshot " /* the path follows */, "does not fit",
                               "dense1-bias (snapshot (16,) kFloat, here (32,) kFloat)",
                               "dense1-weight (snapshot (16, 6) kFloat, here (32, 6) kFloat)",
                               "dense2-weight (snapshot (4, 16) kFloat, here (4, 32) kFloat)",
                               "not in the snapshot: dense3-bias, dense3-weight"}) {
    EXPECT_NE(message.find(expected), std::string::npos) << expected << "\n" << message;
  }
  EXPECT_NE(message.find(dir.File("small")), std::string::npos) << message;
  EXPECT_EQ(message.find("dense2-bias"), std::string::npos) << "dense2-bias fits: " << message;
}

TEST(CheckpointApiTest, LoadsOneFlowLegacySnapshotWithoutMeta) {
  ScratchDir dir;
  Session source({.seed = 4});
  JobFunction job = MakeTrainJob(source, 0.f);
  ASSERT_TRUE(job.Compile().ok());
  // Lay out a pre-0.3.2 OneFlow snapshot by hand: <var>/out only, raw little-endian bytes.
  checkpoint::testing::MakeDir(dir.File("legacy"));
  for (const auto& [name, t] : source.get_all_variables()) {
    checkpoint::testing::MakeDir(dir.File("legacy/" + name));
    WriteFile(dir.File("legacy/" + name + "/out"),
              absl::string_view(static_cast<const char*>(t.raw_data()), t.num_bytes()));
  }
  WriteFile(dir.File("legacy/snapshot_done"), "");
  Session target({.seed = 9});
  JobFunction target_job = MakeTrainJob(target, 0.f);
  ASSERT_TRUE(target_job.Compile().ok());
  absl::StatusOr<checkpoint::Snapshot> snapshot = checkpoint::get(dir.File("legacy"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_TRUE(load_variables(*snapshot, true, target).ok());
  for (const auto& [name, t] : source.get_all_variables()) {
    EXPECT_TRUE(t.BitwiseEqual(*target.FindVariable(name))) << name;
  }
}

TEST(CheckpointApiTest, LegacyModelIoWritesNoMeta) {
  ScratchDir dir;
  Session session;
  JobFunction job = MakeTrainJob(session, 0.f);
  ASSERT_TRUE(job.Compile().ok());
  config::enable_legacy_model_io(true);
  absl::Status saved = checkpoint::save(dir.File("legacy"), session);
  config::enable_legacy_model_io(false);
  ASSERT_TRUE(saved.ok()) << saved;
  EXPECT_FALSE(std::filesystem::exists(dir.File("legacy/dense1-weight/meta")));
  EXPECT_TRUE(std::filesystem::exists(dir.File("legacy/dense1-weight/out")));
}

}  // namespace
}  // namespace flow

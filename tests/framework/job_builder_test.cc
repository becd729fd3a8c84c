// Recording jobs: get_variable's OneFlow semantics, name scopes, sticky build errors, and a
// failed job leaving its session usable.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "graph/flow.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

bool Contains(const absl::Status& status, absl::string_view text) {
  return absl::StrContains(status.message(), text);
}

TEST(GetVariableTest, SameNameReturnsTheSameVariable) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        Blob a = get_variable("w", {3}, {.initializer = ones_initializer()});
        Blob b = get_variable("w", {3}, {.initializer = zeros_initializer()});  // reuse: the first
        EXPECT_EQ(a.name(), b.name());
        return add(add(x, a), b);
      },
      Placeholder({3}));
  absl::StatusOr<Tensor> y = job(Tensor::FromVector<float>({3}, {0, 1, 2}));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_FLOAT_EQ(y->data<float>()[2], 4.f);
  EXPECT_EQ(session.VariableNames(), std::vector<std::string>{"w"});
}

TEST(GetVariableTest, SameNameWithAnotherShapeIsAnErrorNamingBoth) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        get_variable("w", {3}, {.initializer = ones_initializer()});
        return add(x, get_variable("w", {4}, {.initializer = ones_initializer()}));
      },
      Placeholder({3}));
  absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status, "variable 'w'")) << status;
  EXPECT_TRUE(Contains(status, "(4,)")) << status;
  EXPECT_TRUE(Contains(status, "(3,)")) << status;
}

TEST(GetVariableTest, TwoLayersWithOneNameAreAnError) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        Blob h = layers::dense(x, 4, {.name = "fc"});
        return layers::dense(h, 4, {.name = "fc"});
      },
      Placeholder({2, 4}));
  absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(Contains(status, "variable 'fc-weight' already exists")) << status;
}

TEST(GetVariableTest, MissingInitializerIsAnError) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict, [](Blob x) { return add(x, get_variable("w", {2})); },
      Placeholder({2}));
  EXPECT_TRUE(Contains(job.Compile(), "variable 'w' has no initializer"));
}

TEST(GetVariableTest, InvalidInitializerIsAnErrorAtBuildTime) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        return add(x, get_variable("w", {2}, {.initializer = truncated_normal(-1.0)}));
      },
      Placeholder({2}));
  absl::Status status = job.Compile();
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status, "variable 'w'")) << status;
}

TEST(GetVariableTest, NamespacesJoinWithDashes) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        scope::Namespace outer("block1");
        scope::Namespace inner("conv");
        return add(x, get_variable("w", {2}, {.initializer = ones_initializer()}));
      },
      Placeholder({2}));
  ASSERT_TRUE(job.Compile().ok());
  EXPECT_EQ(session.VariableNames(), std::vector<std::string>{"block1-conv-w"});
}

TEST(GetVariableTest, DenseLayerNamesAndShapesFollowOneFlow) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        return layers::dense(x, 5, {.name = "dense1"});  // x (2, 3, 7): flattened to (6, 7)
      },
      Placeholder({2, 3, 7}));
  absl::StatusOr<Tensor> y = job(Tensor(Shape({2, 3, 7}), kFloat));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape(), Shape({2, 3, 5}));
  EXPECT_EQ(session.FindVariable("dense1-weight")->shape(), Shape({5, 7}));
  EXPECT_EQ(session.FindVariable("dense1-bias")->shape(), Shape({5}));
  // OneFlow's dense default kernel initializer is constant 0.
  EXPECT_EQ(session.FindVariable("dense1-weight")->mean(), 0.0);
}

TEST(GetVariableTest, VariablesDependOnSeedAndNameNotOnCreationOrder) {
  auto values = [](uint64_t seed, bool reversed) {
    Session session({.seed = seed});
    JobFunction job = global_function(
        session, "job", JobType::kPredict,
        [reversed](Blob x) {
          auto make = [](const char* name) {
            return get_variable(name, {50}, {.initializer = random_normal_initializer()});
          };
          Blob a = reversed ? make("b") : make("a");
          Blob b = reversed ? make("a") : make("b");
          return add(add(x, a), b);
        },
        Placeholder({50}));
    EXPECT_TRUE(job.Compile().ok());
    return std::make_pair(session.FindVariable("a")->Clone(), session.FindVariable("b")->Clone());
  };
  auto [a1, b1] = values(1, false);
  auto [a2, b2] = values(1, true);
  auto [a3, b3] = values(2, false);
  EXPECT_TRUE(a1.BitwiseEqual(a2));
  EXPECT_TRUE(b1.BitwiseEqual(b2));
  EXPECT_FALSE(a1.BitwiseEqual(b1));
  EXPECT_FALSE(a1.BitwiseEqual(a3));
}

TEST(GetVariableTest, SharedAcrossJobsAndMismatchAcrossJobsIsAnError) {
  Session session;
  JobFunction first = global_function(
      session, "first", JobType::kPredict,
      [](Blob x) { return add(x, get_variable("w", {2}, {.initializer = ones_initializer()})); },
      Placeholder({2}));
  JobFunction second = global_function(
      session, "second", JobType::kPredict,
      [](Blob x) { return add(x, get_variable("w", {2}, {.initializer = zeros_initializer()})); },
      Placeholder({2}));
  JobFunction third = global_function(
      session, "third", JobType::kPredict,
      [](Blob x) {
        get_variable("w", {5}, {.initializer = ones_initializer()});
        return x;
      },
      Placeholder({2}));
  ASSERT_TRUE(first.Compile().ok());
  absl::StatusOr<Tensor> y = second(Tensor(Shape({2}), kFloat));
  ASSERT_TRUE(y.ok());
  EXPECT_FLOAT_EQ(y->data<float>()[0], 1.f);  // the storage "first" created and initialized
  absl::Status status = third.Compile();
  EXPECT_TRUE(Contains(status, "variable 'w' is declared with shape (5,)")) << status;
  EXPECT_TRUE(Contains(status, "(2,)")) << status;
}

TEST(JobBuilderTest, FailedJobLeavesTheSessionUsable) {
  Session session;
  JobFunction bad = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        Blob w = get_variable("fresh", {3}, {.initializer = ones_initializer()});
        Blob y = reshape(x, {5, -1});  // (2, 3) cannot become (5, ?): the first error
        return add(y, w);              // fed a failed blob: fails quietly
      },
      Placeholder({2, 3}));
  absl::Status status = bad.Compile();
  EXPECT_TRUE(Contains(status, "cannot reshape input (2, 3)")) << status;
  EXPECT_TRUE(session.VariableNames().empty());  // nothing from the bad job
  // The same job name and variable names are still free.
  JobFunction good = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        return add(x, get_variable("fresh", {2, 3}, {.initializer = ones_initializer()}));
      },
      Placeholder({2, 3}));
  EXPECT_TRUE(good(Tensor(Shape({2, 3}), kFloat)).ok());
}

TEST(JobBuilderTest, GpuPlacementAndTrainJobWithoutOptimizerAreErrors) {
  Session session;
  JobFunction gpu = global_function(
      session, "gpu", JobType::kPredict,
      [](Blob x) {
        scope::Placement p("gpu", "0:0");
        return nn::relu(x);
      },
      Placeholder({2}));
  EXPECT_TRUE(Contains(gpu.Compile(), "flowrt runs on the CPU"));
  JobFunction train = global_function(
      session, "train", JobType::kTrain, [](Blob x) { return nn::relu(x); }, Placeholder({2}));
  EXPECT_TRUE(Contains(train.Compile(), "never called an optimizer's minimize"));
}

TEST(JobFunctionTest, WrongFeedNamesThePlaceholderAndBothShapes) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict, [](Blob x, Blob /*labels*/) { return nn::relu(x); },
      Placeholder({2, 3}, kFloat, "images"), Placeholder({2}, kInt32, "labels"));
  absl::StatusOr<Tensor> y = job(Tensor(Shape({3, 2}), kFloat), Tensor(Shape({2}), kInt32));
  ASSERT_FALSE(y.ok());
  EXPECT_TRUE(Contains(y.status(), "placeholder 'images' expects kFloat (2, 3), got kFloat (3, 2)"))
      << y.status();
  y = job(Tensor(Shape({2, 3}), kFloat), Tensor(Shape({2}), kFloat));
  EXPECT_TRUE(Contains(y.status(), "placeholder 'labels' expects kInt32 (2,), got kFloat (2,)"))
      << y.status();
  y = job(Tensor(Shape({2, 3}), kFloat));
  EXPECT_TRUE(Contains(y.status(), "takes 2 inputs, got 1")) << y.status();
}

TEST(JobFunctionTest, UnsupportedDtypeIsAnErrorNamingTheOp) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict, [](Blob x) { return nn::relu(x); },
      Placeholder({2}, kInt32, "ints"));
  absl::Status status = job.Compile();
  EXPECT_TRUE(Contains(status, "op 'relu' (relu)")) << status;
  EXPECT_TRUE(Contains(status, "kInt32")) << status;
}

TEST(JobBuilderTest, BlobOfAnotherJobIsAnErrorNamingTheOpTheBlobAndTheJob) {
  Session session;
  Blob leaked;
  JobFunction first = global_function(
      session, "first", JobType::kPredict,
      [&](Blob x) {
        leaked = nn::relu(x, "first_relu");
        return leaked;
      },
      Placeholder({3}));
  ASSERT_TRUE(first.Compile().ok());
  JobFunction second = global_function(
      session, "second", JobType::kPredict, [&](Blob x) { return add(x, leaked); },
      Placeholder({3}));
  absl::Status status = second.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(Contains(status, "op 'add' (add) in job 'second'")) << status;
  EXPECT_TRUE(Contains(status, "input blob 'first_relu/y' belongs to another job")) << status;
}

TEST(JobBuilderTest, OpOutsideABodyFailsAndTheJobUsingItRecordsWhy) {
  Blob orphan = nn::relu(Blob(), "orphan");
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(orphan.error(), "op 'orphan' (relu) used outside a global_function body"))
      << orphan.error();
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict, [&](Blob x) { return add(x, orphan); }, Placeholder({3}));
  absl::Status status = job.Compile();
  EXPECT_TRUE(Contains(status, "op 'orphan' (relu) used outside a global_function body")) << status;
}

TEST(JobFunctionTest, BodyReturningAFailedBlobIsAnErrorNamingTheJobAndOutput) {
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) {
        return std::vector<Blob>{nn::relu(x), Blob()};
      },
      Placeholder({3}));
  absl::Status status = job.Compile();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(Contains(status, "job 'job': output 1 of the body is a failed blob")) << status;
}

TEST(JobBuilderTest, ScopesOutsideABodyDoNothing) {
  scope::Namespace outside("outside");
  scope::Placement gpu("gpu", "0:0");  // no job to refuse it in; ops built here fail themselves
  Session session;
  JobFunction job = global_function(
      session, "job", JobType::kPredict,
      [](Blob x) { return add(x, get_variable("w", {3}, {.initializer = ones_initializer()})); },
      Placeholder({3}));
  ASSERT_TRUE(job.Compile().ok());
  EXPECT_EQ(session.VariableNames(), std::vector<std::string>{"w"});
}

}  // namespace
}  // namespace flow

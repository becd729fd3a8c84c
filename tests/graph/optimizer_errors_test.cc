// SGD::minimize's refusals, as a job author meets them: the job does not compile, the message
// says what is wrong with the value it got, and the session is left as it was.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "graph/flow.h"

namespace flow {
namespace {

// A one-variable train job: loss = w · x, minimized by SGD(scheduler, options) `minimize_calls`
// times; compiled in its own session. Returns the compile status and the session's variables.
struct Compiled {
  absl::Status status;
  std::vector<std::string> variables;
};

Compiled CompileToy(optimizer::PiecewiseConstantScheduler scheduler, optimizer::SGDOptions options,
                    int minimize_calls = 1, JobType type = JobType::kTrain) {
  Session session({.threads = 1});
  JobFunction job = global_function(
      session, "toy", type,
      [=](Blob x) {
        Blob w = get_variable("w", {3}, {.initializer = constant_initializer(1)});
        Blob loss = math::multiply(w, x);
        for (int i = 0; i < minimize_calls; ++i) optimizer::SGD(scheduler, options).minimize(loss);
        return loss;
      },
      Placeholder({3}));
  return {job.Compile(), session.VariableNames()};
}

const optimizer::PiecewiseConstantScheduler kConstant({}, {0.1f});

void ExpectRefused(const Compiled& compiled, absl::string_view message) {
  EXPECT_EQ(compiled.status.code(), absl::StatusCode::kInvalidArgument) << compiled.status;
  EXPECT_TRUE(absl::StrContains(compiled.status.message(), message)) << compiled.status;
  EXPECT_TRUE(compiled.variables.empty()) << "a refused job created variables";
}

TEST(SgdErrorsTest, ToyCompilesWithGoodOptions) {
  Compiled ok = CompileToy(kConstant, {.momentum = 0.9f, .loss_scale_factor = 128});
  ASSERT_TRUE(ok.status.ok()) << ok.status;
  EXPECT_EQ(ok.variables,
            (std::vector<std::string>{"System-Train-TrainStep-toy", "w", "w-momentum"}));
}

TEST(SgdErrorsTest, LossScaleFactorMustBeFiniteAndPositive) {
  ExpectRefused(CompileToy(kConstant, {.loss_scale_factor = 0}),
                "SGD loss_scale_factor must be finite and > 0, got 0");
  ExpectRefused(CompileToy(kConstant, {.loss_scale_factor = -2}), "got -2");
  ExpectRefused(
      CompileToy(kConstant, {.loss_scale_factor = std::numeric_limits<float>::infinity()}),
      "got inf");
  ExpectRefused(
      CompileToy(kConstant, {.loss_scale_factor = std::numeric_limits<float>::quiet_NaN()}),
      "got nan");
}

TEST(SgdErrorsTest, ScheduleNeedsOneMoreValueThanBoundaries) {
  ExpectRefused(CompileToy(optimizer::PiecewiseConstantScheduler({100}, {0.1f}), {}),
                "needs one more value than boundaries, got 1 values and 1 boundaries");
}

TEST(SgdErrorsTest, MinimizeInAPredictJobOrTwiceIsRefused) {
  Compiled predict = CompileToy(kConstant, {}, 1, JobType::kPredict);
  EXPECT_EQ(predict.status.code(), absl::StatusCode::kFailedPrecondition) << predict.status;
  EXPECT_TRUE(absl::StrContains(predict.status.message(), "minimize() in a predict job"))
      << predict.status;
  Compiled twice = CompileToy(kConstant, {}, 2);
  EXPECT_EQ(twice.status.code(), absl::StatusCode::kFailedPrecondition) << twice.status;
  EXPECT_TRUE(absl::StrContains(twice.status.message(), "minimize() called twice")) << twice.status;
  EXPECT_TRUE(twice.variables.empty());
}

}  // namespace
}  // namespace flow

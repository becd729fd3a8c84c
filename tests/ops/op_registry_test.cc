// The registry sweep: every op declares a shape function, a kernel (unless the executor binds
// it), and a gradient rule or an explicit "none"; every op with a rule has a gradient check.
#include "ops/op_registry.h"

#include <gtest/gtest.h>

#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

TEST(OpRegistryTest, EveryOpIsComplete) {
  for (const OpSchema* op : AllOps()) {
    SCOPED_TRACE(op->type);
    EXPECT_TRUE(op->shape_fn != nullptr);
    const bool bound_by_executor = op->type == "variable" || op->type == "input";
    EXPECT_TRUE(op->kernel_fn != nullptr || op->aliases_input || bound_by_executor);
    EXPECT_TRUE((op->grad_fn != nullptr) != op->no_gradient)
        << "needs exactly one of a gradient rule and NoGradient()";
  }
}

TEST(OpRegistryTest, EveryDifferentiableOpHasAGradientCheck) {
  for (const OpSchema* op : AllOps()) {
    if (op->grad_fn == nullptr) continue;
    EXPECT_TRUE(testing::GradientCheckedOps().contains(op->type))
        << "op '" << op->type << "' has a gradient rule but no FLOWRT_GRADIENT_CHECKED test";
  }
}

}  // namespace
}  // namespace flow

// The registry sweep: every op declares a shape function, a kernel (unless the executor binds
// it), and a gradient rule or an explicit "none"; every op with a rule has a gradient check.
#include "framework/op_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

TEST(OpRegistryTest, EveryOpIsComplete) {
  for (const OpSchema* op : AllOps()) {
    SCOPED_TRACE(op->type);
    EXPECT_TRUE(op->shape_fn != nullptr);
    const bool bound_by_executor = op->role != OpRole::kKernel;
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

// libflowrt.so links the ops' static library whole: every REGISTER_OP in ops/*.cc is registered.
TEST(OpRegistryTest, EveryOpInTheSourcesIsLinkedIn) {
  std::set<std::string> in_sources;
  const std::regex registration(R"re(REGISTER_OP\("(\w+)"\))re");
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(FLOWRT_SOURCE_DIR) + "/ops")) {
    if (entry.path().extension() != ".cc") continue;
    std::stringstream text;
    text << std::ifstream(entry.path()).rdbuf();
    const std::string source = text.str();
    for (std::sregex_iterator it(source.begin(), source.end(), registration), end; it != end;
         ++it) {
      in_sources.insert((*it)[1]);
    }
  }
  ASSERT_GT(in_sources.size(), 40u);
  for (const std::string& type : in_sources) EXPECT_NE(FindOp(type), nullptr) << type;
}

// The executor learns what an op is from its KernelDef, never from its type name.
TEST(OpRegistryTest, OpsTheExecutorBindsItselfDeclareTheirRole) {
  EXPECT_EQ(FindOp("variable")->role, OpRole::kVariable);
  EXPECT_EQ(FindOp("input")->role, OpRole::kPlaceholder);
  EXPECT_EQ(FindOp("relu")->role, OpRole::kKernel);
  EXPECT_EQ(FindKernelDef("relu"), FindOp("relu"));
  EXPECT_EQ(FindKernelDef("no_such_op"), nullptr);
}

}  // namespace
}  // namespace flow

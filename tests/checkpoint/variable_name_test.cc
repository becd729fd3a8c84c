#include "checkpoint/variable_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace flow::checkpoint {
namespace {

using ::testing::HasSubstr;

TEST(VariableNameTest, AcceptsOneFlowNames) {
  for (const char* name : {"conv1-weight", "dense2-bias", "System-Train-TrainStep-train_job",
                           "dense1-weight-momentum", "a", "x.y:z+1=2@3", "_private"}) {
    EXPECT_TRUE(CheckVariableName(name).ok()) << name << ": " << CheckVariableName(name);
  }
  EXPECT_TRUE(CheckVariableName(std::string(255, 'w')).ok());
}

TEST(VariableNameTest, RefusesUnsafeNamesWithTheNameInTheMessage) {
  const std::string nul_name("a\0b", 3);
  for (const std::string& name :
       {std::string("../x"), std::string("/abs"), std::string("a/b"), std::string("."),
        std::string(".."), std::string(""), nul_name, std::string(256, 'w'), std::string("a\\b"),
        std::string("a b"), std::string("tab\tname"), std::string(".hidden"),
        std::string("snapshot_done"), std::string("caf\xc3\xa9")}) {
    const absl::Status status = CheckVariableName(name);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "accepted: " << name;
    EXPECT_THAT(std::string(status.message()), HasSubstr("unsafe variable name \""));
  }
  EXPECT_THAT(std::string(CheckVariableName("../x").message()), HasSubstr("\"../x\""));
  EXPECT_THAT(std::string(CheckVariableName(nul_name).message()), HasSubstr("NUL"));
  EXPECT_THAT(std::string(CheckVariableName(nul_name).message()), HasSubstr("\"a\\x00"));
  EXPECT_THAT(std::string(CheckVariableName(std::string(256, 'w')).message()),
              HasSubstr("256 bytes"));
}

TEST(VariableNameTest, RefusesCaseInsensitiveCollisionsAndDuplicates) {
  EXPECT_TRUE(CheckDistinctVariableNames({"dense1-weight", "dense1-bias"}).ok());
  const absl::Status collision = CheckDistinctVariableNames({"Dense-weight", "x", "dense-WEIGHT"});
  EXPECT_EQ(collision.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(collision.message()), HasSubstr("\"Dense-weight\""));
  EXPECT_THAT(std::string(collision.message()), HasSubstr("\"dense-WEIGHT\""));
  EXPECT_THAT(std::string(collision.message()), HasSubstr("case"));
  const absl::Status duplicate = CheckDistinctVariableNames({"w", "w"});
  EXPECT_THAT(std::string(duplicate.message()), HasSubstr("duplicates"));
  EXPECT_FALSE(CheckDistinctVariableNames({"ok", "a/b"}).ok());
}

}  // namespace
}  // namespace flow::checkpoint

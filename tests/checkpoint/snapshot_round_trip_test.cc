// SaveSnapshot -> GetSnapshot round trips, OneFlow's exact layout, and OneFlow-written fixtures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/crc32c.h"
#include "checkpoint/snapshot_reader.h"
#include "checkpoint/snapshot_writer.h"
#include "tests/checkpoint/checkpoint_test_util.h"

namespace flow::checkpoint {
namespace {

using ::flow::checkpoint::testing::ListNames;
using ::flow::checkpoint::testing::MakeDir;
using ::flow::checkpoint::testing::ReadFile;
using ::flow::checkpoint::testing::ScratchDir;
using ::flow::checkpoint::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Variables = std::vector<std::pair<std::string, Tensor>>;

// Every byte distinct-ish and position dependent, including NaN/denormal float patterns, so a
// reordered, truncated or converted byte shows up.
Tensor Patterned(Shape shape, DataType dtype, int seed) {
  Tensor t(std::move(shape), dtype);
  auto* bytes = static_cast<unsigned char*>(t.raw_data());
  for (int64_t i = 0; i < t.num_bytes(); ++i) bytes[i] = static_cast<unsigned char>(i * 131 + seed);
  return t;
}

std::string Bytes(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw_data()), static_cast<size_t>(t.num_bytes()));
}

TEST(SnapshotRoundTripTest, EveryDtypeIsBitExact) {
  ScratchDir dir;
  const std::vector<DataType> dtypes = {kFloat, kDouble, kInt8, kInt32,
                                        kInt64, kUInt8,  kChar, kFloat16};
  Variables vars;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    vars.emplace_back("var" + std::to_string(i) + "-" + std::string(DataTypeName(dtypes[i])),
                      Patterned(Shape({3, 5, 7}), dtypes[i], static_cast<int>(i)));
  }
  const std::string path = dir.File("snap");
  ASSERT_TRUE(SaveSnapshot(path, vars).ok());
  auto snapshot = GetSnapshot(path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ(snapshot->size(), vars.size());
  for (const auto& [name, tensor] : vars) {
    const SnapshotVariable& variable = snapshot->at(name);
    EXPECT_EQ(variable.name(), name);
    EXPECT_EQ(variable.directory(), path + "/" + name);
    ASSERT_TRUE(variable.has_meta());
    EXPECT_TRUE(variable.has_checksum());
    EXPECT_EQ(variable.shape(), tensor.shape());
    EXPECT_EQ(variable.dtype(), tensor.dtype());
    EXPECT_EQ(variable.file_size(), tensor.num_bytes());
    auto read = variable.Read();
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_TRUE(read->BitwiseEqual(tensor)) << name;
    Tensor into(tensor.shape(), tensor.dtype());
    ASSERT_TRUE(variable.ReadInto(&into).ok());
    EXPECT_TRUE(into.BitwiseEqual(tensor)) << name;
    // `out` is the raw C-order bytes, nothing else.
    EXPECT_EQ(ReadFile(path + "/" + name + "/out"), Bytes(tensor));
  }
  EXPECT_TRUE(VerifySnapshot(path).ok()) << VerifySnapshot(path);
}

TEST(SnapshotRoundTripTest, ZeroSizeAndRankZeroTensors) {
  ScratchDir dir;
  Tensor scalar = Patterned(Shape(), kDouble, 7);
  Tensor empty = Patterned(Shape({0}), kFloat, 0);
  Tensor empty2d = Patterned(Shape({4, 0, 2}), kInt64, 0);
  const std::string path = dir.File("snap");
  ASSERT_TRUE(
      SaveSnapshot(path, {{"scalar", scalar}, {"empty", empty}, {"empty2d", empty2d}}).ok());
  EXPECT_EQ(ReadFile(path + "/scalar/meta"), "shape {\n}\ndata_type: kDouble\n");
  EXPECT_EQ(ReadFile(path + "/empty/out"), "");
  auto snapshot = GetSnapshot(path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  for (const Tensor* t : {&scalar, &empty, &empty2d}) {
    const std::string name = t == &scalar ? "scalar" : t == &empty ? "empty" : "empty2d";
    auto read = snapshot->at(name).Read();
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_TRUE(read->BitwiseEqual(*t)) << name << " " << read->DebugString();
  }
  EXPECT_TRUE(VerifySnapshot(path).ok());
}

TEST(SnapshotRoundTripTest, LargeTensorStreamsInChunks) {
  // Bigger than one 8 MiB write/read chunk and not a multiple of it.
  ScratchDir dir;
  Tensor big = Patterned(Shape({5, 1000, 1001}), kFloat, 3);
  const std::string path = dir.File("snap");
  ASSERT_TRUE(SaveSnapshot(path, {{"big", big}}).ok());
  const std::string sidecar = ReadFile(path + "/big/out.crc32c");
  char expected[64];
  std::snprintf(expected, sizeof(expected), "crc32c %08x\nsize %lld\n",
                Crc32c(big.raw_data(), big.num_bytes()), static_cast<long long>(big.num_bytes()));
  EXPECT_EQ(sidecar, expected);
  auto snapshot = GetSnapshot(path);
  ASSERT_TRUE(snapshot.ok());
  auto read = snapshot->at("big").Read();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->BitwiseEqual(big));
  EXPECT_TRUE(VerifySnapshot(path).ok());
}

TEST(SnapshotRoundTripTest, WritesOneFlowLayoutInNameOrderWithNoLeftovers) {
  ScratchDir dir;
  Tensor weight = Patterned(Shape({10, 512}), kFloat, 1);
  Tensor step = Tensor::FromVector<int64_t>(Shape({1}), {600});
  const std::string path = dir.File("mlp_models_1");
  ASSERT_TRUE(
      SaveSnapshot(path, {{"dense1-weight", weight}, {"System-Train-TrainStep-train_job", step}})
          .ok());
  EXPECT_THAT(ListNames(dir.path()), ElementsAre("mlp_models_1"));  // no temp dir left
  EXPECT_THAT(ListNames(path),
              ElementsAre("System-Train-TrainStep-train_job", "dense1-weight", "snapshot_done"));
  EXPECT_THAT(ListNames(path + "/dense1-weight"), ElementsAre("meta", "out", "out.crc32c"));
  EXPECT_EQ(ReadFile(path + "/dense1-weight/meta"),
            "shape {\n  dim: 10\n  dim: 512\n}\ndata_type: kFloat\n");
  EXPECT_EQ(ReadFile(path + "/System-Train-TrainStep-train_job/meta"),
            "shape {\n  dim: 1\n}\ndata_type: kInt64\n");
  EXPECT_EQ(ReadFile(path + "/System-Train-TrainStep-train_job/out"),
            std::string("\x58\x02\0\0\0\0\0\0", 8));  // 600 little-endian
  EXPECT_EQ(ReadFile(path + "/snapshot_done"), "");
}

TEST(SnapshotRoundTripTest, LegacyLayoutWritesOutOnly) {
  ScratchDir dir;
  Tensor w = Patterned(Shape({2, 3}), kFloat, 5);
  const std::string path = dir.File("legacy");
  SaveOptions options;
  options.legacy_layout = true;
  options.write_checksums = false;
  ASSERT_TRUE(SaveSnapshot(path, {{"w", w}}, options).ok());
  EXPECT_THAT(ListNames(path + "/w"), ElementsAre("out"));
  options.write_checksums = true;
  ASSERT_TRUE(SaveSnapshot(dir.File("legacy_crc"), {{"w", w}}, options).ok());
  EXPECT_THAT(ListNames(dir.File("legacy_crc/w")), ElementsAre("out", "out.crc32c"));

  auto snapshot = GetSnapshot(path);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_FALSE(snapshot->at("w").has_meta());
  Tensor into(Shape({2, 3}), kFloat);
  ASSERT_TRUE(snapshot->at("w").ReadInto(&into).ok());
  EXPECT_TRUE(into.BitwiseEqual(w));
}

TEST(SnapshotRoundTripTest, SaveRefusesAFileAndANonEmptyDirectory) {
  ScratchDir dir;
  const Variables vars = {{"w", Patterned(Shape({2}), kFloat, 0)}};
  WriteFile(dir.File("file"), "x");
  absl::Status status = SaveSnapshot(dir.File("file"), vars);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr(dir.File("file") + " is a regular file"));
  EXPECT_EQ(ReadFile(dir.File("file")), "x");

  MakeDir(dir.File("full"));
  WriteFile(dir.File("full/keep"), "y");
  status = SaveSnapshot(dir.File("full"), vars);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("non-empty directory"));
  EXPECT_THAT(ListNames(dir.File("full")), ElementsAre("keep"));

  ASSERT_EQ(::symlink(dir.File("empty_target").c_str(), dir.File("link").c_str()), 0);
  MakeDir(dir.File("empty_target"));
  status = SaveSnapshot(dir.File("link"), vars);
  EXPECT_THAT(std::string(status.message()), HasSubstr("symbolic link"));
  EXPECT_TRUE(ListNames(dir.File("empty_target")).empty());
  // Nothing but what the test made: no temp dirs.
  EXPECT_THAT(ListNames(dir.path()), ElementsAre("empty_target", "file", "full", "link"));
}

TEST(SnapshotRoundTripTest, SaveIntoAnEmptyDirectoryAndMissingParents) {
  ScratchDir dir;
  const Variables vars = {{"w", Patterned(Shape({2}), kFloat, 0)}};
  MakeDir(dir.File("empty"));
  ASSERT_TRUE(SaveSnapshot(dir.File("empty") + "/", vars).ok());
  EXPECT_TRUE(VerifySnapshot(dir.File("empty")).ok());
  ASSERT_TRUE(SaveSnapshot(dir.File("a/b/c"), vars).ok());
  EXPECT_TRUE(VerifySnapshot(dir.File("a/b/c")).ok());
  EXPECT_THAT(ListNames(dir.File("a/b")), ElementsAre("c"));
}

TEST(SnapshotRoundTripTest, SaveRefusesUnsafeNamesAndTouchesNothing) {
  ScratchDir dir;
  const Tensor t = Patterned(Shape({2}), kFloat, 0);
  for (const std::string& name :
       {std::string("../x"), std::string("/abs"), std::string("a/b"), std::string("."),
        std::string(".."), std::string(""), std::string("a\0b", 3), std::string(256, 'n')}) {
    const absl::Status status = SaveSnapshot(dir.File("snap"), {{"ok", t}, {name, t}});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(status.message()), HasSubstr("unsafe variable name")) << name;
    EXPECT_THAT(std::string(status.message()), HasSubstr(dir.File("snap"))) << name;
  }
  const absl::Status collision = SaveSnapshot(dir.File("snap"), {{"W", t}, {"w", t}});
  EXPECT_THAT(std::string(collision.message()), HasSubstr("differ only in case"));
  EXPECT_THAT(std::string(SaveSnapshot(dir.File("snap"), {{"u", Tensor()}}).message()),
              HasSubstr("variable \"u\""));
  EXPECT_TRUE(ListNames(dir.path()).empty());
}

// A snapshot laid out exactly as OneFlow v0.3.2+ writes it (check_point_v2.SaveVarDict), built
// with plain file writes: no sidecars, meta from Python's text_format.
TEST(SnapshotOneFlowFixtureTest, LoadsOneFlowSnapshotWithMeta) {
  ScratchDir dir;
  const std::string root = dir.File("of_snapshot");
  MakeDir(root + "/dense1-weight");
  MakeDir(root + "/System-Train-TrainStep-train_job");
  const float weights[6] = {0.5f, -1.25f, 3.0f, 1e-8f, -0.0f, 2.5f};
  WriteFile(root + "/dense1-weight/out",
            std::string(reinterpret_cast<const char*>(weights), sizeof(weights)));
  WriteFile(root + "/dense1-weight/meta", "shape {\n  dim: 2\n  dim: 3\n}\ndata_type: kFloat\n");
  WriteFile(root + "/System-Train-TrainStep-train_job/out", std::string("\x58\x02\0\0\0\0\0\0", 8));
  WriteFile(root + "/System-Train-TrainStep-train_job/meta",
            "shape {\n  dim: 1\n}\ndata_type: kInt64\n");
  WriteFile(root + "/snapshot_done", "");

  auto snapshot = GetSnapshot(root);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ(snapshot->size(), 2u);
  const SnapshotVariable& w = snapshot->at("dense1-weight");
  EXPECT_TRUE(w.has_meta());
  EXPECT_FALSE(w.has_checksum());
  EXPECT_EQ(w.shape(), Shape({2, 3}));
  EXPECT_EQ(w.dtype(), kFloat);
  auto read = w.Read();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(std::memcmp(read->raw_data(), weights, sizeof(weights)), 0);
  auto step = snapshot->at("System-Train-TrainStep-train_job").Read();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->data<int64_t>()[0], 600);
  EXPECT_TRUE(VerifySnapshot(root).ok()) << VerifySnapshot(root);

  // What flowrt writes for the same values is byte-identical in `out` and `meta`.
  ASSERT_TRUE(SaveSnapshot(dir.File("ours"), {{"dense1-weight", *read}}).ok());
  EXPECT_EQ(ReadFile(dir.File("ours/dense1-weight/out")), ReadFile(root + "/dense1-weight/out"));
  EXPECT_EQ(ReadFile(dir.File("ours/dense1-weight/meta")), ReadFile(root + "/dense1-weight/meta"));
}

// OneFlow <= 0.3.1 (legacy model IO): `out` only; shape and dtype come from the destination.
TEST(SnapshotOneFlowFixtureTest, LoadsLegacySnapshotWithoutMeta) {
  ScratchDir dir;
  const std::string root = dir.File("legacy");
  MakeDir(root + "/conv1-bias");
  const int32_t values[4] = {1, -2, 3, 0x7fffffff};
  WriteFile(root + "/conv1-bias/out",
            std::string(reinterpret_cast<const char*>(values), sizeof(values)));
  WriteFile(root + "/snapshot_done", "");

  auto snapshot = GetSnapshot(root);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const SnapshotVariable& bias = snapshot->at("conv1-bias");
  EXPECT_FALSE(bias.has_meta());
  EXPECT_EQ(bias.file_size(), 16);
  auto read = bias.Read();
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("variable \"conv1-bias\""));
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(root + "/conv1-bias/meta"));

  Tensor into(Shape({4}), kInt32);
  ASSERT_TRUE(bias.ReadInto(&into).ok());
  EXPECT_EQ(std::memcmp(into.raw_data(), values, sizeof(values)), 0);

  Tensor wrong(Shape({3}), kInt32);
  const absl::Status status = bias.ReadInto(&wrong);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("variable \"conv1-bias\""));
  EXPECT_THAT(std::string(status.message()), HasSubstr(root + "/conv1-bias/out"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("16 bytes"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("(3,) kInt32 needs 12 bytes"));
  EXPECT_TRUE(VerifySnapshot(root).ok());
}

TEST(SnapshotOneFlowFixtureTest, ReadIntoWithMetaNeedsSameShapeAndDtype) {
  ScratchDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(SaveSnapshot(path, {{"dense2-weight", Patterned(Shape({10, 512}), kFloat, 0)}}).ok());
  auto snapshot = GetSnapshot(path);
  ASSERT_TRUE(snapshot.ok());
  Tensor other_shape(Shape({512, 10}), kFloat);
  absl::Status status = snapshot->at("dense2-weight").ReadInto(&other_shape);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("variable \"dense2-weight\""));
  EXPECT_THAT(std::string(status.message()), HasSubstr(path + "/dense2-weight/meta"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("(10, 512) kFloat"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("(512, 10) kFloat"));
  // Refused before a byte is written.
  EXPECT_EQ(other_shape.mean(), 0.0);
  Tensor other_dtype(Shape({10, 512}), kDouble);
  status = snapshot->at("dense2-weight").ReadInto(&other_dtype);
  EXPECT_THAT(std::string(status.message()), HasSubstr("(10, 512) kDouble"));
}

TEST(SnapshotOneFlowFixtureTest, MissingSnapshotDoneNeedsTheOverride) {
  ScratchDir dir;
  const std::string root = dir.File("partial");
  MakeDir(root + "/w");
  WriteFile(root + "/w/out", std::string(8, '\0'));
  WriteFile(root + "/w/meta", "shape {\n  dim: 2\n}\ndata_type: kFloat\n");
  auto refused = GetSnapshot(root);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr(root + "/snapshot_done"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("allow_incomplete"));
  auto allowed = GetSnapshot(root, {.allow_incomplete = true});
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(allowed->size(), 1u);
  EXPECT_FALSE(VerifySnapshot(root).ok());
}

TEST(SnapshotOneFlowFixtureTest, SkipsStrayFilesAtTheRoot) {
  ScratchDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(SaveSnapshot(path, {{"w", Patterned(Shape({2}), kFloat, 0)}}).ok());
  WriteFile(path + "/README", "notes");
  WriteFile(path + "/w/notes.txt", "OneFlow ignores extra files in a variable dir");
  auto snapshot = GetSnapshot(path);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->size(), 1u);
  EXPECT_TRUE(VerifySnapshot(path).ok());
}

TEST(SnapshotOneFlowFixtureTest, GetOfAMissingPathIsNotFound) {
  ScratchDir dir;
  auto missing = GetSnapshot(dir.File("nope"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(dir.File("nope")));
}

}  // namespace
}  // namespace flow::checkpoint

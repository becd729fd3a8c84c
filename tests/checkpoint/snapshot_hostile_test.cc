// Hostile snapshots: each is refused with a Status naming the variable and the file, without
// following links, opening FIFOs/devices or allocating what a file claims.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <initializer_list>
#include <string>

#include "checkpoint/snapshot_reader.h"
#include "checkpoint/snapshot_writer.h"
#include "tests/checkpoint/checkpoint_test_util.h"

namespace flow::checkpoint {
namespace {

using ::flow::checkpoint::testing::MakeDir;
using ::flow::checkpoint::testing::ReadFile;
using ::flow::checkpoint::testing::ScratchDir;
using ::flow::checkpoint::testing::WriteFile;
using ::testing::HasSubstr;

class SnapshotHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.File("snap");
    Tensor w(Shape({2, 3}), kFloat);
    for (int i = 0; i < 6; ++i) w.data<float>()[i] = static_cast<float>(i) + 0.5f;
    Tensor b(Shape({3}), kInt64);
    ASSERT_TRUE(SaveSnapshot(root_, {{"w", w}, {"b", b}}).ok());
    ASSERT_TRUE(VerifySnapshot(root_).ok());
  }

  std::string File(const std::string& relative) const { return root_ + "/" + relative; }

  // GetSnapshot and VerifySnapshot both refuse, with every `parts` in their messages.
  void ExpectRefused(std::initializer_list<std::string> parts) {
    auto snapshot = GetSnapshot(root_);
    ASSERT_FALSE(snapshot.ok()) << "GetSnapshot accepted the hostile snapshot";
    const absl::Status verify = VerifySnapshot(root_);
    ASSERT_FALSE(verify.ok()) << "VerifySnapshot accepted the hostile snapshot";
    for (const std::string& part : parts) {
      EXPECT_THAT(std::string(snapshot.status().message()), HasSubstr(part));
      EXPECT_THAT(std::string(verify.message()), HasSubstr(part));
    }
  }

  // GetSnapshot lists it (the damage is only visible in the bytes), Read and Verify refuse.
  void ExpectReadRefused(const std::string& name, std::initializer_list<std::string> parts) {
    auto snapshot = GetSnapshot(root_);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    auto read = snapshot->at(name).Read();
    ASSERT_FALSE(read.ok()) << "Read accepted the damaged variable";
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
    const absl::Status verify = VerifySnapshot(root_);
    ASSERT_FALSE(verify.ok());
    for (const std::string& part : parts) {
      EXPECT_THAT(std::string(read.status().message()), HasSubstr(part));
      EXPECT_THAT(std::string(verify.message()), HasSubstr(part));
    }
  }

  ScratchDir dir_;
  std::string root_;
};

TEST_F(SnapshotHostileTest, SymlinkedVariableDirectory) {
  std::filesystem::rename(File("w"), dir_.File("elsewhere"));
  ASSERT_EQ(::symlink(dir_.File("elsewhere").c_str(), File("w").c_str()), 0);
  ExpectRefused({File("w"), "symbolic link"});
}

TEST_F(SnapshotHostileTest, SymlinkedOut) {
  WriteFile(dir_.File("secret"), std::string(24, 'x'));
  std::filesystem::remove(File("w/out"));
  ASSERT_EQ(::symlink(dir_.File("secret").c_str(), File("w/out").c_str()), 0);
  ExpectRefused({"variable \"w\"", File("w/out"), "symbolic link"});
}

TEST_F(SnapshotHostileTest, SymlinkedMetaSidecarOrStrayFile) {
  for (const std::string file : {"meta", "out.crc32c", "notes"}) {
    SCOPED_TRACE(file);
    const std::string path = File("b/" + file);
    const std::string saved = std::filesystem::exists(path) ? ReadFile(path) : "";
    std::filesystem::remove(path);
    WriteFile(dir_.File("target"), saved);
    ASSERT_EQ(::symlink(dir_.File("target").c_str(), path.c_str()), 0);
    ExpectRefused({"variable \"b\"", path, "symbolic link"});
    std::filesystem::remove(path);
    if (file != "notes") WriteFile(path, saved);
    ASSERT_TRUE(VerifySnapshot(root_).ok());
  }
}

TEST_F(SnapshotHostileTest, SymlinkedSnapshotDoneAndRoot) {
  std::filesystem::remove(File("snapshot_done"));
  WriteFile(dir_.File("done"), "");
  ASSERT_EQ(::symlink(dir_.File("done").c_str(), File("snapshot_done").c_str()), 0);
  ExpectRefused({File("snapshot_done"), "symbolic link"});

  ASSERT_EQ(::symlink(root_.c_str(), dir_.File("link_to_snap").c_str()), 0);
  auto via_link = GetSnapshot(dir_.File("link_to_snap"), {.allow_incomplete = true});
  ASSERT_FALSE(via_link.ok());
  EXPECT_THAT(std::string(via_link.status().message()), HasSubstr("symbolic link"));
  EXPECT_THAT(std::string(via_link.status().message()), HasSubstr(dir_.File("link_to_snap")));
}

TEST_F(SnapshotHostileTest, OutIsAFifo) {
  // Opening a FIFO for reading blocks until a writer appears: this test hangs if it is opened.
  std::filesystem::remove(File("w/out"));
  ASSERT_EQ(::mkfifo(File("w/out").c_str(), 0644), 0);
  ExpectRefused({"variable \"w\"", File("w/out"), "FIFO"});
}

TEST_F(SnapshotHostileTest, OutBecomesAFifoAfterListing) {
  auto snapshot = GetSnapshot(root_);
  ASSERT_TRUE(snapshot.ok());
  std::filesystem::remove(File("w/out"));
  ASSERT_EQ(::mkfifo(File("w/out").c_str(), 0644), 0);
  auto read = snapshot->at("w").Read();
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(File("w/out")));
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("FIFO"));
}

TEST_F(SnapshotHostileTest, OutIsADevice) {
  std::filesystem::remove(File("w/out"));
  if (::mknod(File("w/out").c_str(), S_IFCHR | 0644, makedev(1, 5)) != 0) {  // /dev/zero
    GTEST_SKIP() << "cannot create a device node here: " << std::strerror(errno);
  }
  ExpectRefused({"variable \"w\"", File("w/out"), "character device"});
}

TEST_F(SnapshotHostileTest, FifoAtTheRoot) {
  ASSERT_EQ(::mkfifo(File("pipe").c_str(), 0644), 0);
  ExpectRefused({File("pipe"), "FIFO"});
}

TEST_F(SnapshotHostileTest, UnparsableMeta) {
  WriteFile(File("w/meta"), "shape { dim: 2 dim: 3 \ndata_type: kFloat\n");
  ExpectRefused({"variable \"w\"", File("w/meta"), "unparsable meta"});
}

TEST_F(SnapshotHostileTest, OversizedMeta) {
  WriteFile(File("w/meta"), std::string(70 * 1024, '#'));
  ExpectRefused({"variable \"w\"", File("w/meta"), "71680 bytes; at most 65536"});
}

TEST_F(SnapshotHostileTest, UnknownDtypes) {
  for (const std::string dtype : {"kOFRecord", "kTensorBuffer", "99", "kInvalidDataType"}) {
    SCOPED_TRACE(dtype);
    WriteFile(File("w/meta"), "shape {\n  dim: 2\n  dim: 3\n}\ndata_type: " + dtype + "\n");
    ExpectRefused({"variable \"w\"", File("w/meta")});
  }
}

TEST_F(SnapshotHostileTest, NegativeDim) {
  WriteFile(File("w/meta"), "shape {\n  dim: -2\n  dim: -3\n}\ndata_type: kFloat\n");
  ExpectRefused({"variable \"w\"", File("w/meta"), "negative dim -2"});
}

TEST_F(SnapshotHostileTest, AbsurdRank) {
  std::string meta = "shape {\n";
  for (int i = 0; i < 1000; ++i) meta += "  dim: 1\n";
  WriteFile(File("w/meta"), meta + "}\ndata_type: kFloat\n");
  ExpectRefused({"variable \"w\"", File("w/meta"), "rank 1000"});
}

TEST_F(SnapshotHostileTest, OverflowingShapeProduct) {
  // 2^31 * 2^31 * 2^2 elements wrap to 0 in int64 arithmetic, which would match an empty `out`.
  WriteFile(File("w/meta"),
            "shape {\n  dim: 2147483648\n  dim: 2147483648\n  dim: 4\n}\ndata_type: kFloat\n");
  WriteFile(File("w/out"), "");
  ExpectRefused({"variable \"w\"", File("w/meta"), "overflows"});
}

TEST_F(SnapshotHostileTest, HugeShapeIsComparedWithTheFileBeforeAllocating) {
  // 2^40 floats = 4 TiB: refused by the size comparison, never allocated.
  WriteFile(File("w/meta"), "shape {\n  dim: 1099511627776\n}\ndata_type: kFloat\n");
  ExpectRefused({"variable \"w\"", File("w/out"), "is 24 bytes", "4398046511104 bytes"});
}

TEST_F(SnapshotHostileTest, OutShorterOrLongerThanMeta) {
  const std::string bytes = ReadFile(File("w/out"));
  WriteFile(File("w/out"), bytes.substr(0, 20));
  ExpectRefused({"variable \"w\"", File("w/out"), "is 20 bytes", "truncated"});
  WriteFile(File("w/out"), bytes + "x");
  ExpectRefused({"variable \"w\"", File("w/out"), "is 25 bytes", "trailing data"});
}

TEST_F(SnapshotHostileTest, OutWithoutMetaChangedSizeVsSidecar) {
  std::filesystem::remove(File("w/meta"));
  WriteFile(File("w/out"), std::string(20, '\0'));
  ExpectRefused({"variable \"w\"", File("w/out"), "out.crc32c says 24 bytes"});
}

TEST_F(SnapshotHostileTest, CrcMismatch) {
  std::string bytes = ReadFile(File("w/out"));
  bytes[5] ^= 0x01;  // one bit flipped, same size
  WriteFile(File("w/out"), bytes);
  ExpectReadRefused("w", {"variable \"w\"", File("w/out"), "CRC32C mismatch"});
  auto snapshot = GetSnapshot(root_);
  ASSERT_TRUE(snapshot.ok());
  Tensor into(Shape({2, 3}), kFloat);
  const absl::Status status = snapshot->at("w").ReadInto(&into);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("CRC32C mismatch"));
}

TEST_F(SnapshotHostileTest, MalformedSidecar) {
  WriteFile(File("w/out.crc32c"), "crc32c nothex!\nsize 24\n");
  ExpectRefused({"variable \"w\"", File("w/out.crc32c"), "malformed checksum file"});
  WriteFile(File("w/out.crc32c"), std::string(4096, '0'));
  ExpectRefused({"variable \"w\"", File("w/out.crc32c"), "at most 256"});
}

TEST_F(SnapshotHostileTest, VariableDirectoryWithoutOut) {
  std::filesystem::remove(File("w/out"));
  ExpectRefused({"variable \"w\"", File("w/out"), "missing"});
  MakeDir(File("empty_dir"));
  ExpectRefused({"variable \"empty_dir\"", File("empty_dir/out"), "missing"});
}

TEST_F(SnapshotHostileTest, OutIsADirectory) {
  std::filesystem::remove(File("w/out"));
  MakeDir(File("w/out"));
  ExpectRefused({"variable \"w\"", File("w/out"), "is a directory"});
}

TEST_F(SnapshotHostileTest, MissingSnapshotDone) {
  std::filesystem::remove(File("snapshot_done"));
  ExpectRefused({File("snapshot_done"), "incomplete"});
  EXPECT_TRUE(GetSnapshot(root_, {.allow_incomplete = true}).ok());
}

TEST_F(SnapshotHostileTest, UnsafeDirectoryNames) {
  for (const std::string name : {".hidden", "a b", "tab\tname", "semi;colon"}) {
    SCOPED_TRACE(name);
    std::filesystem::copy(File("b"), File(name));
    ExpectRefused({File(name), "unsafe variable name"});
    std::filesystem::remove_all(File(name));
  }
}

TEST_F(SnapshotHostileTest, NamesEqualIgnoringCase) {
  std::filesystem::copy(File("w"), File("W"));
  ExpectRefused({"variable \"w\"", File("w"), "differs only in case", "\"W\""});
}

TEST_F(SnapshotHostileTest, OutTruncatedAfterListing) {
  auto snapshot = GetSnapshot(root_);
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(::truncate(File("w/out").c_str(), 8), 0);
  auto read = snapshot->at("w").Read();
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(File("w/out")));
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("changed since listed"));
}

TEST_F(SnapshotHostileTest, VerifyReportsEveryProblem) {
  std::string bytes = ReadFile(File("w/out"));
  bytes[0] ^= 0x40;
  WriteFile(File("w/out"), bytes);
  WriteFile(File("b/meta"), "garbage");
  std::filesystem::remove(File("snapshot_done"));
  const absl::Status verify = VerifySnapshot(root_);
  ASSERT_FALSE(verify.ok());
  const std::string message(verify.message());
  EXPECT_THAT(message, HasSubstr("3 problem(s)"));
  EXPECT_THAT(message, HasSubstr(File("snapshot_done")));
  EXPECT_THAT(message, HasSubstr(File("b/meta")));
  EXPECT_THAT(message, HasSubstr(File("w/out") + ": CRC32C mismatch"));
}

}  // namespace
}  // namespace flow::checkpoint

// file_io's write-path helpers that the snapshot writer's speed rests on: StartWriteback (a hint
// whose real errors still count) and FsyncPool (fsyncs on worker threads, errors reported in the
// order they were queued).
#include "checkpoint/file_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/checkpoint/checkpoint_test_util.h"

namespace flow::checkpoint {
namespace {

using ::flow::checkpoint::testing::ReadFile;
using ::flow::checkpoint::testing::ScratchDir;
using ::testing::HasSubstr;

// A pipe: fsync() on it fails with EINVAL, on any thread.
struct Pipe {
  Pipe() { EXPECT_EQ(::pipe(fds), 0); }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int fds[2] = {-1, -1};
};

TEST(FileIoEnsureParentDirectoryTest, MakesEveryMissingParentLikeMkdirP) {
  ScratchDir dir;
  ASSERT_TRUE(EnsureParentDirectory(dir.File("a/b/c/file.csv")).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir.File("a/b/c")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("a/b/c/file.csv")));    // only the parents
  EXPECT_TRUE(EnsureParentDirectory(dir.File("a/b/c/file.csv")).ok());  // again: nothing to do
  EXPECT_TRUE(EnsureParentDirectory("file_in_the_current_directory.csv").ok());
}

TEST(FileIoEnsureParentDirectoryTest, NamesTheFileAndTheParentThatCannotBeMade) {
  ScratchDir dir;
  testing::WriteFile(dir.File("plain"), "x");
  const absl::Status status = EnsureParentDirectory(dir.File("plain/sub/m.csv"));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("cannot write " + dir.File("plain/sub/m.csv") + ": " + dir.File("plain") +
                        " is a regular file, not a directory"));
  EXPECT_EQ(ReadFile(dir.File("plain")), "x");
}

TEST(FileIoErrnoErrorTest, SaysWhatFailedAndStrerrorOnce) {
  absl::Status status = ErrnoError(ENOENT, "snapshot ./mlp_models_1", "open directory");
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_EQ(status.message(),
            "snapshot ./mlp_models_1: open directory: No such file or directory (errno 2)");
  EXPECT_TRUE(absl::IsPermissionDenied(ErrnoError(EACCES, "x", "open")));
}

TEST(FileIoStartWritebackTest, RegularFileIsOkAndPipeIsOnlyAHint) {
  ScratchDir dir;
  absl::StatusOr<UniqueFd> dir_fd = OpenDirectory(dir.path(), "dir");
  ASSERT_TRUE(dir_fd.ok()) << dir_fd.status();
  absl::StatusOr<UniqueFd> file = CreateFileAt(dir_fd->get(), "f", "f");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(WriteAll(file->get(), "hello", 5, "f").ok());
  EXPECT_TRUE(StartWriteback(file->get(), 0, 5, "f").ok());
  EXPECT_TRUE(Fsync(file->get(), "f").ok());
  EXPECT_TRUE(Close(*file, "f").ok());
  EXPECT_EQ(ReadFile(dir.File("f")), "hello");

  Pipe pipe;  // sync_file_range on a pipe is ESPIPE: not supported there, so not an error
  EXPECT_TRUE(StartWriteback(pipe.fds[1], 0, 1, "pipe").ok());
}

TEST(FileIoStartWritebackTest, ABadDescriptorIsAnErrorNamingTheFile) {
  const absl::Status status = StartWriteback(-1, 0, 1, "variable \"w\": /snap/w/out");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("variable \"w\": /snap/w/out"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("start writeback"));
}

TEST(FileIoFsyncPoolTest, FsyncsManyFilesAndCanBeReused) {
  ScratchDir dir;
  absl::StatusOr<UniqueFd> dir_fd = OpenDirectory(dir.path(), "dir");
  ASSERT_TRUE(dir_fd.ok()) << dir_fd.status();
  FsyncPool pool(4);
  EXPECT_TRUE(pool.Wait().ok());  // nothing queued
  for (int round = 0; round < 2; ++round) {
    std::vector<UniqueFd> files;
    for (int i = 0; i < 40; ++i) {
      const std::string name = absl::StrCat("f", round, "_", i);
      absl::StatusOr<UniqueFd> file = CreateFileAt(dir_fd->get(), name, name);
      ASSERT_TRUE(file.ok()) << file.status();
      ASSERT_TRUE(WriteAll(file->get(), name.data(), name.size(), name).ok());
      pool.Add(file->get(), name);
      files.push_back(std::move(*file));
    }
    pool.Add(dir_fd->get(), dir.path());
    EXPECT_TRUE(pool.Wait().ok());
    for (UniqueFd& file : files) EXPECT_TRUE(Close(file, "f").ok());
  }
}

TEST(FileIoFsyncPoolTest, ReportsTheFirstErrorInQueueOrder) {
  ScratchDir dir;
  absl::StatusOr<UniqueFd> dir_fd = OpenDirectory(dir.path(), "dir");
  ASSERT_TRUE(dir_fd.ok()) << dir_fd.status();
  Pipe first, second;
  FsyncPool pool(3);
  pool.Add(dir_fd->get(), "the directory");
  pool.Add(first.fds[1], "first pipe");
  pool.Add(second.fds[1], "second pipe");
  pool.Add(dir_fd->get(), "the directory again");
  const absl::Status status = pool.Wait();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("first pipe: fsync: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("errno 22"));  // EINVAL
  // The errors were reported; the next batch starts clean.
  pool.Add(dir_fd->get(), "the directory");
  EXPECT_TRUE(pool.Wait().ok());
}

TEST(FileIoFsyncPoolTest, DestructionWaitsForQueuedFsyncs) {
  ScratchDir dir;
  absl::StatusOr<UniqueFd> dir_fd = OpenDirectory(dir.path(), "dir");
  ASSERT_TRUE(dir_fd.ok()) << dir_fd.status();
  {
    FsyncPool pool(2);
    for (int i = 0; i < 10; ++i) pool.Add(dir_fd->get(), "dir");
  }  // joins without Wait(); the descriptor is still open here, so this must not crash or hang
  EXPECT_TRUE(Fsync(dir_fd->get(), "dir").ok());
}

}  // namespace
}  // namespace flow::checkpoint

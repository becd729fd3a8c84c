// Fault injection on SaveSnapshot: I/O errors (injected, and a real EFBIG from RLIMIT_FSIZE)
// return an error and leave neither the final dir nor a temp dir; a SIGKILL at any I/O step of a
// save never leaves a final-named snapshot that fails VerifySnapshot, and never harms an older
// snapshot in the same parent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "checkpoint/snapshot_reader.h"
#include "checkpoint/snapshot_writer.h"
#include "tests/checkpoint/checkpoint_test_util.h"

namespace flow::checkpoint {
namespace {

using ::flow::checkpoint::testing::ListNames;
using ::flow::checkpoint::testing::ReadFile;
using ::flow::checkpoint::testing::ScratchDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Variables = std::vector<std::pair<std::string, Tensor>>;

Tensor Filled(Shape shape, DataType dtype, int seed) {
  Tensor t(std::move(shape), dtype);
  auto* bytes = static_cast<unsigned char*>(t.raw_data());
  for (int64_t i = 0; i < t.num_bytes(); ++i) bytes[i] = static_cast<unsigned char>(i * 29 + seed);
  return t;
}

// Three variables; "big" (9 MiB) spans two 8 MiB write chunks, so a kill can land inside one
// `out`. Built once: forked children share it.
const Variables& NewVariables() {
  static const Variables* variables =
      new Variables{{"big", Filled(Shape({9, 256, 1024}), kFloat, 1)},
                    {"dense-bias", Filled(Shape({10}), kFloat, 2)},
                    {"step", Tensor::FromVector<int64_t>(Shape({1}), {42})}};
  return *variables;
}

// Every file of a directory tree with its bytes, to prove an older snapshot is untouched.
std::vector<std::pair<std::string, std::string>> Contents(const std::string& root) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.emplace_back(entry.path(), ReadFile(entry.path()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

class SnapshotFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SaveSnapshot(dir_.File("old"), {{"w", Filled(Shape({4, 4}), kDouble, 9)}}).ok());
    old_contents_ = Contents(dir_.File("old"));
  }

  void ExpectOldSnapshotIntact() {
    EXPECT_TRUE(VerifySnapshot(dir_.File("old")).ok());
    EXPECT_EQ(Contents(dir_.File("old")), old_contents_);
  }

  // Entries of the parent besides "old": the final dir and any temp dirs.
  std::vector<std::string> NewEntries() {
    std::vector<std::string> names = ListNames(dir_.path());
    names.erase(std::find(names.begin(), names.end(), "old"));
    return names;
  }

  ScratchDir dir_;
  std::vector<std::pair<std::string, std::string>> old_contents_;
};

struct InjectedFault {
  SaveIoOp op;
  std::string file_suffix;  // matches the end of the file path the writer reports
  int error;
  std::vector<std::string> expected;  // substrings of the error message
};

TEST_F(SnapshotFaultTest, InjectedIoErrorsFailCleanly) {
  const std::string tmp_prefix = absl::StrCat("/", SnapshotTempDirPrefix("new"));
  const std::vector<InjectedFault> faults = {
      {SaveIoOp::kWrite, "/big/out", ENOSPC, {"variable \"big\"", "/big/out", "No space left"}},
      {SaveIoOp::kWrite, "/step/out", EIO, {"variable \"step\"", "/step/out", "Input/output"}},
      {SaveIoOp::kWrite, "/dense-bias/meta", ENOSPC, {"variable \"dense-bias\"", "/meta"}},
      {SaveIoOp::kStartWriteback, "/big/out", EIO, {"variable \"big\"", "start writeback"}},
      {SaveIoOp::kStartWriteback, "/step/out.crc32c", ENOSPC, {"out.crc32c", "No space left"}},
      {SaveIoOp::kFsync, "/big/out", EIO, {"variable \"big\"", "/big/out", "fsync"}},
      {SaveIoOp::kClose, "/step/out.crc32c", EIO, {"variable \"step\"", "out.crc32c", "close"}},
      {SaveIoOp::kFsync, "/dense-bias", EIO, {"variable \"dense-bias\"", "fsync"}},
      {SaveIoOp::kClose, "/snapshot_done", EIO, {"snapshot_done", "close"}},
      {SaveIoOp::kFsync, "/snapshot_done", EIO, {"snapshot_done", "fsync"}},
      {SaveIoOp::kFsync, "", EIO, {tmp_prefix, "fsync"}},  // the temp dir itself (see match)
      {SaveIoOp::kClose, "", EIO, {tmp_prefix, "close"}},
      {SaveIoOp::kRename, "/new", EIO, {"rename", tmp_prefix}},
  };
  for (const InjectedFault& fault : faults) {
    SCOPED_TRACE(fault.file_suffix + " errno " + std::to_string(fault.error));
    int hits = 0;
    SaveTestHooks hooks;
    hooks.inject_errno = [&](SaveIoOp op, const std::string& file) {
      const bool match = op == fault.op &&
                         (fault.file_suffix.empty()
                              ? absl::StrContains(file, tmp_prefix) &&
                                    file.find('/', file.find(tmp_prefix) + 1) == std::string::npos
                              : absl::EndsWith(file, fault.file_suffix));
      // Fail the first matching call only.
      if (match && hits++ == 0) return fault.error;
      return 0;
    };
    SaveOptions options;
    options.test_hooks = &hooks;
    const absl::Status status = SaveSnapshot(dir_.File("new"), NewVariables(), options);
    EXPECT_EQ(hits, 1) << "the fault was never injected";
    ASSERT_FALSE(status.ok());
    for (const std::string& part : fault.expected) {
      EXPECT_THAT(std::string(status.message()), HasSubstr(part));
    }
    EXPECT_THAT(NewEntries(), ElementsAre()) << "a failed save left a final or temp dir";
    ExpectOldSnapshotIntact();
  }
}

// The fsyncs run on worker threads, but every hook runs on the saving thread, in program order:
// each variable's writes come before its fsyncs are queued, all variables are durable before
// snapshot_done is created, and the rename comes after the temp dir's fsync and close.
TEST_F(SnapshotFaultTest, HooksRunOnTheSavingThreadInCommitOrder) {
  std::vector<std::pair<SaveIoOp, std::string>> ops;
  std::vector<std::pair<SavePhase, int>> phases;
  const std::thread::id saver = std::this_thread::get_id();
  bool other_thread = false;
  SaveTestHooks hooks;
  hooks.inject_errno = [&](SaveIoOp op, const std::string& file) {
    other_thread |= std::this_thread::get_id() != saver;
    ops.emplace_back(op, file);
    return 0;
  };
  hooks.on_phase = [&](SavePhase phase, int variables) {
    other_thread |= std::this_thread::get_id() != saver;
    phases.emplace_back(phase, variables);
  };
  SaveOptions options;
  options.test_hooks = &hooks;
  ASSERT_TRUE(SaveSnapshot(dir_.File("new"), NewVariables(), options).ok());
  EXPECT_FALSE(other_thread);
  EXPECT_THAT(phases, ElementsAre(std::pair(SavePhase::kVariableWritten, 1),
                                  std::pair(SavePhase::kVariableWritten, 2),
                                  std::pair(SavePhase::kVariableWritten, 3),
                                  std::pair(SavePhase::kSnapshotDoneWritten, 3),
                                  std::pair(SavePhase::kRenamed, 3)));
  auto index_of = [&](SaveIoOp op, const std::string& suffix) {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].first == op && absl::EndsWith(ops[i].second, suffix)) return i;
    }
    ADD_FAILURE() << "no op " << static_cast<int>(op) << " on *" << suffix;
    return ops.size();
  };
  // Every variable file is written, fsynced and closed before snapshot_done's first op.
  const size_t done_fsync = index_of(SaveIoOp::kFsync, "/snapshot_done");
  for (const std::string var : {"/big", "/dense-bias", "/step"}) {
    for (const std::string file : {"/out", "/meta", "/out.crc32c", ""}) {
      SCOPED_TRACE(var + file);
      const size_t fsync = index_of(SaveIoOp::kFsync, var + file);
      const size_t close = index_of(SaveIoOp::kClose, var + file);
      EXPECT_LT(fsync, close);
      EXPECT_LT(close, done_fsync);
      if (!file.empty()) {
        EXPECT_LT(index_of(SaveIoOp::kStartWriteback, var + file), fsync);
      }
    }
  }
  // snapshot_done and the temp dir are fsynced and closed before the rename; the parent after.
  const size_t rename = index_of(SaveIoOp::kRename, "/new");
  EXPECT_LT(index_of(SaveIoOp::kClose, "/snapshot_done"), rename);
  const std::string tmp_dir_prefix = absl::StrCat(dir_.path(), "/", SnapshotTempDirPrefix("new"));
  int temp_dir_ops = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string& file = ops[i].second;
    if (absl::StartsWith(file, tmp_dir_prefix) &&
        file.find('/', tmp_dir_prefix.size()) == std::string::npos) {
      ++temp_dir_ops;  // the temp dir itself: its fsync and its close
      EXPECT_LT(done_fsync, i);
      EXPECT_LT(i, rename);
    }
  }
  EXPECT_EQ(temp_dir_ops, 2);
  ASSERT_GE(ops.size(), 2u);
  EXPECT_EQ(ops[ops.size() - 2].first, SaveIoOp::kRename);
  EXPECT_EQ(ops.back(), std::pair(SaveIoOp::kFsync, dir_.path()));
}

// A model with many variables does not hold all their descriptors until the end: the save waits
// for its queued fsyncs every few dozen variables, reporting those variables durable in order.
TEST_F(SnapshotFaultTest, ManyVariablesAreSyncedInBoundedBatches) {
  Variables variables;
  for (int i = 0; i < 100; ++i) {
    variables.emplace_back(absl::StrFormat("v%03d", i), Filled(Shape({3}), kFloat, i));
  }
  int open_files = 0, max_open_files = 0;
  std::vector<int> reported;
  SaveTestHooks hooks;
  hooks.inject_errno = [&](SaveIoOp op, const std::string& file) {
    if (op == SaveIoOp::kFsync && file != dir_.path()) ++open_files;  // queued, still open
    if (op == SaveIoOp::kClose) --open_files;
    max_open_files = std::max(max_open_files, open_files);
    return 0;
  };
  hooks.on_phase = [&](SavePhase phase, int variables_written) {
    if (phase == SavePhase::kVariableWritten) reported.push_back(variables_written);
  };
  SaveOptions options;
  options.test_hooks = &hooks;
  ASSERT_TRUE(SaveSnapshot(dir_.File("new"), variables, options).ok());
  EXPECT_EQ(open_files, 0);
  EXPECT_GT(max_open_files, 4);    // fsyncs do overlap
  EXPECT_LE(max_open_files, 132);  // and are bounded (4 per variable, 128 pending at most)
  ASSERT_EQ(reported.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(reported[i], i + 1);
  EXPECT_TRUE(VerifySnapshot(dir_.File("new")).ok());
}

TEST_F(SnapshotFaultTest, ParentFsyncFailureAfterRenameKeepsTheCompleteSnapshot) {
  SaveTestHooks hooks;
  hooks.inject_errno = [&](SaveIoOp op, const std::string& file) {
    return op == SaveIoOp::kFsync && file == dir_.path() ? EIO : 0;
  };
  SaveOptions options;
  options.test_hooks = &hooks;
  const absl::Status status = SaveSnapshot(dir_.File("new"), NewVariables(), options);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("may not survive a crash"));
  EXPECT_THAT(NewEntries(), ElementsAre("new"));
  EXPECT_TRUE(VerifySnapshot(dir_.File("new")).ok());
  ExpectOldSnapshotIntact();
}

// Runs `body` in a forked child and returns what it wrote to the pipe and its wait status.
std::pair<std::string, int> RunInChild(const std::function<std::string()>& body) {
  int fds[2];
  FLOWRT_CHECK(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  FLOWRT_CHECK(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string message = body();
    const ssize_t ignored = ::write(fds[1], message.data(), message.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof(buffer))) > 0) message.append(buffer, n);
  ::close(fds[0]);
  int wait_status = 0;
  FLOWRT_CHECK(::waitpid(pid, &wait_status, 0) == pid);
  return {message, wait_status};
}

TEST_F(SnapshotFaultTest, FileSizeLimitGivesEfbigAndNoDirectory) {
  const std::string path = dir_.File("new");
  auto [message, wait_status] = RunInChild([&] {
    ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of being killed
    struct rlimit limit = {.rlim_cur = 1 << 20, .rlim_max = RLIM_INFINITY};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    const absl::Status status = SaveSnapshot(path, NewVariables());
    return status.ok() ? std::string("OK") : std::string(status.message());
  });
  ASSERT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) << wait_status;
  EXPECT_THAT(message, HasSubstr("variable \"big\""));
  EXPECT_THAT(message, HasSubstr("/big/out"));
  EXPECT_THAT(message, HasSubstr("File too large"));
  EXPECT_THAT(NewEntries(), ElementsAre());
  ExpectOldSnapshotIntact();
}

// Counts the I/O operations of one save, then kills a child save at each of them in turn (and
// at each phase callback). Whatever the instant, "new" is either absent or a snapshot that
// verifies; before the rename it must be absent, after it present.
TEST_F(SnapshotFaultTest, SigkillAtEveryStepNeverLeavesABadSnapshot) {
  int total_ops = 0;
  {
    SaveTestHooks counting;
    counting.inject_errno = [&](SaveIoOp, const std::string&) { return ++total_ops, 0; };
    SaveOptions options;
    options.test_hooks = &counting;
    ASSERT_TRUE(SaveSnapshot(dir_.File("dry_run"), NewVariables(), options).ok());
    std::filesystem::remove_all(dir_.File("dry_run"));
  }
  ASSERT_GT(total_ops, 30);

  const std::string path = dir_.File("new");
  const std::string tmp_prefix = SnapshotTempDirPrefix("new");
  auto check_after_kill = [&](const std::string& where, bool expect_final) {
    SCOPED_TRACE(where);
    const bool exists = std::filesystem::exists(path);
    EXPECT_EQ(exists, expect_final);
    if (exists) {
      EXPECT_TRUE(VerifySnapshot(path).ok()) << VerifySnapshot(path);
    }
    ExpectOldSnapshotIntact();
    // The only other leftover is the hidden temp dir, found by its documented prefix.
    for (const std::string& name : NewEntries()) {
      if (name != "new") {
        EXPECT_TRUE(absl::StartsWith(name, tmp_prefix)) << name;
      }
    }
    std::filesystem::remove_all(path);
    for (const std::string& name : NewEntries()) std::filesystem::remove_all(dir_.File(name));
  };

  // Killed just before I/O operation k runs (the rename is the second-to-last operation).
  for (int k = 1; k <= total_ops; ++k) {
    auto [message, wait_status] = RunInChild([&] {
      int seen = 0;
      SaveTestHooks hooks;
      hooks.inject_errno = [&](SaveIoOp, const std::string&) {
        if (++seen == k) ::raise(SIGKILL);
        return 0;
      };
      SaveOptions options;
      options.test_hooks = &hooks;
      const absl::Status status = SaveSnapshot(path, NewVariables(), options);
      return std::string(status.message());
    });
    ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
        << "op " << k << ": child was not killed: " << message;
    // Ops are ..., rename (total-1), parent fsync (total): the final name appears at the rename.
    check_after_kill(
        "killed before I/O op " + std::to_string(k) + " of " + std::to_string(total_ops),
        /*expect_final=*/k == total_ops);
  }

  // Killed at each phase callback.
  struct Kill {
    SavePhase phase;
    int variables;
    bool expect_final;
  };
  for (const Kill& kill :
       {Kill{SavePhase::kVariableWritten, 1, false}, Kill{SavePhase::kVariableWritten, 2, false},
        Kill{SavePhase::kVariableWritten, 3, false},
        Kill{SavePhase::kSnapshotDoneWritten, 3, false}, Kill{SavePhase::kRenamed, 3, true}}) {
    auto [message, wait_status] = RunInChild([&] {
      SaveTestHooks hooks;
      hooks.on_phase = [&](SavePhase phase, int variables) {
        if (phase == kill.phase && variables == kill.variables) ::raise(SIGKILL);
      };
      SaveOptions options;
      options.test_hooks = &hooks;
      return std::string(SaveSnapshot(path, NewVariables(), options).message());
    });
    ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) << message;
    check_after_kill("killed at phase " + std::to_string(static_cast<int>(kill.phase)) + " after " +
                         std::to_string(kill.variables) + " variables",
                     kill.expect_final);
  }
}

}  // namespace
}  // namespace flow::checkpoint

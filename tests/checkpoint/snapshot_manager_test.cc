// SnapshotManager: names, retention arithmetic, Latest/List over hostile roots, and crash safety
// of saves and removals (a child process SIGKILLed at each step of a removal, or in the middle of
// a save, never leaves a partial snapshot under a final name; Open() then removes its own
// leftovers and nothing else).
#include "checkpoint/snapshot_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "checkpoint/file_io.h"
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

Variables VariablesForStep(int64_t step) {
  Tensor w(Shape({16, 8}), kFloat);
  for (int64_t i = 0; i < w.num_elements(); ++i) w.data<float>()[i] = step + 0.25f * i;
  return {{"dense-weight", w},
          {"dense-bias", Tensor::FromVector<float>(Shape({2}), {1.f, 2.f})},
          {"System-Train-TrainStep-train", Tensor::FromVector<int64_t>(Shape({1}), {step})}};
}

std::vector<int64_t> Steps(const std::vector<SnapshotInfo>& infos) {
  std::vector<int64_t> steps;
  for (const SnapshotInfo& info : infos) steps.push_back(info.step);
  return steps;
}

std::vector<int64_t> ListedSteps(const SnapshotManager& manager) {
  auto listed = manager.List();
  EXPECT_TRUE(listed.ok()) << listed.status();
  return listed.ok() ? Steps(*listed) : std::vector<int64_t>{};
}

// Every file below `root` (not following links) with its bytes, or link target.
std::vector<std::pair<std::string, std::string>> Contents(const std::string& root) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_symlink()) {
      files.emplace_back(entry.path(),
                         absl::StrCat("-> ", std::filesystem::read_symlink(entry.path()).string()));
    } else if (entry.is_regular_file()) {
      files.emplace_back(entry.path(), ReadFile(entry.path()));
    } else {
      files.emplace_back(entry.path(), "<dir>");
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Runs `body` in a forked child; returns what it wrote to the pipe and its wait status.
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

SnapshotManagerOptions Options(int keep_last, int64_t keep_every = 0,
                               const SnapshotManagerTestHooks* hooks = nullptr) {
  SnapshotManagerOptions options;
  options.keep_last = keep_last;
  options.keep_every = keep_every;
  options.test_hooks = hooks;
  return options;
}

bool KilledBySigkill(int wait_status) {
  return WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL;
}

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t DeadPid() {
  const pid_t pid = ::fork();
  FLOWRT_CHECK(pid >= 0);
  if (pid == 0) ::_exit(0);
  int wait_status = 0;
  FLOWRT_CHECK(::waitpid(pid, &wait_status, 0) == pid);
  return pid;
}

// Every root entry with a canonical snapshot name must be a complete snapshot that verifies.
void ExpectNoPartialFinalSnapshot(const std::string& root) {
  for (const std::string& name : ListNames(root)) {
    if (!ParseSnapshotName(name).has_value()) continue;
    const absl::Status verified = VerifySnapshot(JoinPath(root, name));
    EXPECT_TRUE(verified.ok()) << name << ": " << verified;
  }
}

TEST(SnapshotManagerTest, NamesAreZeroPaddedAndCanonical) {
  EXPECT_EQ(SnapshotName(0), "snapshot_0000000000");
  EXPECT_EQ(SnapshotName(1000), "snapshot_0000001000");
  EXPECT_EQ(SnapshotName(9999999999), "snapshot_9999999999");
  EXPECT_EQ(SnapshotName(12345678901), "snapshot_12345678901");
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(SnapshotName(max), "snapshot_9223372036854775807");
  for (int64_t step :
       {int64_t{0}, int64_t{7}, int64_t{1000}, int64_t{9999999999}, int64_t{10000000000}, max}) {
    EXPECT_EQ(ParseSnapshotName(SnapshotName(step)), step) << step;
  }
  // Sorting names sorts steps below 10^10 (OneFlow's manager takes the lexicographically last).
  EXPECT_LT(SnapshotName(900), SnapshotName(1000));
  EXPECT_LT(SnapshotName(9999999998), SnapshotName(9999999999));
  for (const char* name :
       {"snapshot_1000", "snapshot_000001000", "snapshot_00000001000", "snapshot_0000001000x",
        "snapshot_-000000100", "snapshot_+000000100", "snapshot_ 000000100",
        "snapshot_9223372036854775808", "snapshot_99999999999999999999", "Snapshot_0000001000",
        "snapshot0000001000", "snapshot_", "", ".snapshot_0000001000.tmp-1-0000000000000000",
        "snapshot_20210304_101010_000000"}) {
    EXPECT_EQ(ParseSnapshotName(name), std::nullopt) << name;
  }
}

TEST(SnapshotManagerTest, RetentionArithmetic) {
  const std::vector<int64_t> none;
  // keep_last = 0 keeps everything.
  EXPECT_EQ(StepsToRemove({1, 2, 3}, 0, 0), none);
  EXPECT_EQ(StepsToRemove({}, 3, 0), none);
  EXPECT_EQ(StepsToRemove({10, 20}, 3, 0), none);
  EXPECT_EQ(StepsToRemove({10, 20, 30}, 3, 0), none);
  EXPECT_EQ(StepsToRemove({10, 20, 30, 40}, 3, 0), std::vector<int64_t>({10}));
  // Unsorted input, duplicates.
  EXPECT_EQ(StepsToRemove({50, 10, 40, 20, 30, 30}, 2, 0), std::vector<int64_t>({10, 20, 30}));
  EXPECT_EQ(StepsToRemove({1, 2, 3, 4, 5}, 1, 0), std::vector<int64_t>({1, 2, 3, 4}));
  // keep_every by step value: 0, 300, 600 stay forever.
  std::vector<int64_t> steps;
  for (int64_t s = 0; s <= 700; s += 100) steps.push_back(s);
  EXPECT_EQ(StepsToRemove(steps, 2, 300), std::vector<int64_t>({100, 200, 400, 500}));
  EXPECT_EQ(StepsToRemove(steps, 3, 300), std::vector<int64_t>({100, 200, 400}));
  // A multiple of keep_every among the last N is not counted twice.
  EXPECT_EQ(StepsToRemove({100, 200, 300}, 1, 300), std::vector<int64_t>({100, 200}));
  // Steps that are not multiples of the save interval.
  EXPECT_EQ(StepsToRemove({7, 14, 21, 28, 35}, 2, 10), std::vector<int64_t>({7, 14, 21}));
  EXPECT_EQ(StepsToRemove({7, 14, 21, 28, 35}, 2, 7), none);
}

TEST(SnapshotManagerTest, SaveListLatestAndRetention) {
  ScratchDir dir;
  const std::string root = dir.File("runs/mlp");  // parents are created
  auto manager = SnapshotManager::Open(root, Options(2, 300));
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto latest = manager->Latest();
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, std::nullopt);

  const std::vector<std::vector<int64_t>> expected_after = {
      {100}, {100, 200}, {200, 300}, {300, 400}, {300, 400, 500}, {300, 500, 600}, {300, 600, 700}};
  for (size_t i = 0; i < expected_after.size(); ++i) {
    const int64_t step = 100 * static_cast<int64_t>(i + 1);
    auto path = manager->Save(step, VariablesForStep(step));
    ASSERT_TRUE(path.ok()) << path.status();
    EXPECT_EQ(*path, root + "/" + SnapshotName(step));
    EXPECT_EQ(ListedSteps(*manager), expected_after[i]) << "after saving " << step;
    latest = manager->Latest();
    ASSERT_TRUE(latest.ok());
    ASSERT_TRUE(latest->has_value());
    EXPECT_EQ(**latest, (SnapshotInfo{.step = step, .name = SnapshotName(step), .path = *path}));
  }
  // Nothing but the kept snapshots: no temp or hidden leftovers.
  EXPECT_THAT(ListNames(root),
              ElementsAre(SnapshotName(300), SnapshotName(600), SnapshotName(700)));
  // What is kept loads, and is the right step.
  auto snapshot = GetSnapshot(root + "/" + SnapshotName(600));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto step = snapshot->at("System-Train-TrainStep-train").Read();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->data<int64_t>()[0], 600);
}

TEST(SnapshotManagerTest, KeepLastZeroKeepsEverything) {
  ScratchDir dir;
  auto manager = SnapshotManager::Open(dir.path(), Options(0));
  ASSERT_TRUE(manager.ok());
  for (int64_t step = 1; step <= 5; ++step) {
    ASSERT_TRUE(manager->Save(step, VariablesForStep(step)).ok());
  }
  EXPECT_EQ(ListedSteps(*manager), std::vector<int64_t>({1, 2, 3, 4, 5}));
}

TEST(SnapshotManagerTest, LatestIgnoresIncompleteTempAndForeignEntries) {
  ScratchDir dir;
  const std::string root = dir.path();
  {
    auto manager = SnapshotManager::Open(root, Options(0));
    ASSERT_TRUE(manager.ok());
    ASSERT_TRUE(manager->Save(100, VariablesForStep(100)).ok());
    ASSERT_TRUE(manager->Save(200, VariablesForStep(200)).ok());
  }
  // Higher steps, each not a complete snapshot for one reason; all must be ignored.
  auto complete_copy = [&](const std::string& name) {
    std::filesystem::copy(root + "/" + SnapshotName(200), root + "/" + name,
                          std::filesystem::copy_options::recursive);
  };
  complete_copy(SnapshotName(300));
  std::filesystem::remove(root + "/" + SnapshotName(300) + "/snapshot_done");  // incomplete
  complete_copy(SnapshotName(400));
  std::filesystem::remove(root + "/" + SnapshotName(400) + "/snapshot_done");
  MakeDir(root + "/" + SnapshotName(400) + "/snapshot_done");  // marker is a directory
  complete_copy(SnapshotName(500));
  std::filesystem::remove(root + "/" + SnapshotName(500) + "/snapshot_done");
  std::filesystem::create_symlink(absl::StrCat("../", SnapshotName(200), "/snapshot_done"),
                                  root + "/" + SnapshotName(500) + "/snapshot_done");  // link
  complete_copy("snapshot_600");                                                       // spelling
  complete_copy(SnapshotTempDirPrefix(SnapshotName(700)) + "1-0123456789abcdef");      // temp dir
  complete_copy(absl::StrCat(".", SnapshotName(800), ".del-1-0123456789abcdef"));      // removal
  complete_copy("checkpoint_0000000900");                                              // foreign
  WriteFile(root + "/" + SnapshotName(1000), "not a directory");
  std::filesystem::create_directory_symlink(SnapshotName(200), root + "/" + SnapshotName(1100));
  MakeDir(root + "/" + SnapshotName(1200));  // empty

  auto manager = SnapshotManager::Open(root, Options(0));
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto latest = manager->Latest();
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->step, 200);
  EXPECT_EQ((*latest)->path, root + absl::StrCat("/", SnapshotName(200)));
  EXPECT_EQ(ListedSteps(*manager), std::vector<int64_t>({100, 200}));

  // Retention counts complete snapshots only and never touches the rest.
  const auto before = Contents(root);
  auto limited = SnapshotManager::Open(root, Options(1));
  ASSERT_TRUE(limited.ok());
  ASSERT_TRUE(limited->Save(1300, VariablesForStep(1300)).ok());
  EXPECT_EQ(ListedSteps(*limited), std::vector<int64_t>({1300}));
  auto after = Contents(root);
  std::erase_if(
      after, [&](const auto& file) { return absl::StrContains(file.first, SnapshotName(1300)); });
  auto expected = before;
  std::erase_if(expected, [&](const auto& file) {
    return absl::StrContains(file.first, SnapshotName(100)) ||
           absl::StrContains(file.first, absl::StrCat("/", SnapshotName(200)));
  });
  EXPECT_EQ(after, expected);
}

TEST(SnapshotManagerTest, SaveRefusesStaleStepsAndTakenNames) {
  ScratchDir dir;
  auto manager = SnapshotManager::Open(dir.path(), Options(3));
  ASSERT_TRUE(manager.ok());
  ASSERT_TRUE(manager->Save(200, VariablesForStep(200)).ok());

  auto older = manager->Save(100, VariablesForStep(100));
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(older.status().message()), HasSubstr(dir.path()));
  EXPECT_THAT(std::string(older.status().message()), HasSubstr(SnapshotName(100)));
  EXPECT_THAT(std::string(older.status().message()), HasSubstr(SnapshotName(200)));

  auto same = manager->Save(200, VariablesForStep(200));
  ASSERT_FALSE(same.ok());
  EXPECT_THAT(std::string(same.status().message()), HasSubstr(SnapshotName(200)));

  auto negative = manager->Save(-1, VariablesForStep(1));
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);

  // A foreign, non-empty directory under the next name is not overwritten.
  MakeDir(dir.File(SnapshotName(300)));
  WriteFile(dir.File(SnapshotName(300)) + "/notes.txt", "mine");
  auto taken = manager->Save(300, VariablesForStep(300));
  ASSERT_FALSE(taken.ok());
  EXPECT_THAT(std::string(taken.status().message()), HasSubstr(dir.path()));
  EXPECT_THAT(std::string(taken.status().message()), HasSubstr(SnapshotName(300)));
  EXPECT_EQ(ReadFile(dir.File(SnapshotName(300)) + "/notes.txt"), "mine");
  EXPECT_EQ(ListedSteps(*manager), std::vector<int64_t>({200}));
}

TEST(SnapshotManagerTest, OpenRefusesBadRootsAndOptions) {
  ScratchDir dir;
  WriteFile(dir.File("file"), "x");
  auto file = SnapshotManager::Open(dir.File("file"));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(file.status().message()), HasSubstr(dir.File("file")));
  auto below_file = SnapshotManager::Open(dir.File("file/sub"));
  ASSERT_FALSE(below_file.ok());
  EXPECT_THAT(std::string(below_file.status().message()), HasSubstr(dir.File("file")));
  EXPECT_FALSE(SnapshotManager::Open(dir.path(), Options(-1)).ok());
  EXPECT_FALSE(SnapshotManager::Open(dir.path(), Options(3, -5)).ok());
  EXPECT_FALSE(SnapshotManager::Open("").ok());
}

TEST(SnapshotManagerTest, FailedSaveRemovesNothing) {
  ScratchDir dir;
  {
    auto manager = SnapshotManager::Open(dir.path(), Options(0));
    ASSERT_TRUE(manager.ok());
    ASSERT_TRUE(manager->Save(100, VariablesForStep(100)).ok());
    ASSERT_TRUE(manager->Save(200, VariablesForStep(200)).ok());
  }
  const auto before = Contents(dir.path());
  SaveTestHooks hooks;
  hooks.inject_errno = [](SaveIoOp op, const std::string& file) {
    return op == SaveIoOp::kWrite && absl::EndsWith(file, "/dense-weight/out") ? ENOSPC : 0;
  };
  SnapshotManagerOptions options = Options(1);
  options.save_options.test_hooks = &hooks;
  auto manager = SnapshotManager::Open(dir.path(), options);
  ASSERT_TRUE(manager.ok());
  auto saved = manager->Save(300, VariablesForStep(300));
  ASSERT_FALSE(saved.ok());
  EXPECT_THAT(std::string(saved.status().message()),
              HasSubstr(absl::StrCat("snapshot root ", dir.path())));
  EXPECT_THAT(std::string(saved.status().message()), HasSubstr(SnapshotName(300)));
  EXPECT_THAT(std::string(saved.status().message()), HasSubstr("No space left"));
  EXPECT_EQ(Contents(dir.path()), before);
}

// A save killed before it is durable removes nothing (even with keep_last = 1); its temp dir is
// removed by the next Open, and nothing foreign is touched, even things that look almost alike.
TEST(SnapshotManagerTest, KilledSaveRemovesNothingAndItsLeftoverIsCleanedAtOpen) {
  ScratchDir dir;
  const std::string root = dir.path();
  {
    auto manager = SnapshotManager::Open(root, Options(0));
    ASSERT_TRUE(manager.ok());
    ASSERT_TRUE(manager->Save(100, VariablesForStep(100)).ok());
    ASSERT_TRUE(manager->Save(200, VariablesForStep(200)).ok());
  }
  // Foreign entries, several shaped almost like leftovers.
  const std::string tmp300 = SnapshotTempDirPrefix(SnapshotName(300));
  WriteFile(root + "/notes.txt", "keep me");
  MakeDir(root + "/.hidden_dir");
  WriteFile(root + "/.hidden_dir/x", "x");
  MakeDir(root + "/" + tmp300 + "notapid");                               // bad suffix
  MakeDir(root + "/" + tmp300 + "12-0123");                               // short nonce
  MakeDir(root + "/.snapshot_300.tmp-12-0123456789abcdef");               // non-canonical name
  MakeDir(root + "/.other.tmp-12-0123456789abcdef");                      // not a snapshot name
  MakeDir(root + "/." + SnapshotName(300) + ".bak-12-0123456789abcdef");  // other infix
  WriteFile(root + "/" + tmp300 + std::to_string(DeadPid()) + "-0123456789abcdef",
            "a file, not a dir");
  // A live process's save in progress (pid 1 is always alive).
  MakeDir(root + "/" + tmp300 + "1-0123456789abcdef");
  WriteFile(root + "/" + tmp300 + "1-0123456789abcdef/out", "in progress");
  auto foreign_before = Contents(root);
  auto drop_snapshots = [&](std::vector<std::pair<std::string, std::string>>& files) {
    std::erase_if(files, [&](const auto& file) {
      return absl::StrContains(file.first, absl::StrCat("/", SnapshotName(100))) ||
             absl::StrContains(file.first, absl::StrCat("/", SnapshotName(200)));
    });
  };
  drop_snapshots(foreign_before);

  for (const SavePhase kill_phase :
       {SavePhase::kVariableWritten, SavePhase::kSnapshotDoneWritten}) {
    SCOPED_TRACE(static_cast<int>(kill_phase));
    auto [message, wait_status] = RunInChild([&] {
      SaveTestHooks hooks;
      hooks.on_phase = [&](SavePhase phase, int variables) {
        if (phase == kill_phase && variables >= 2) ::raise(SIGKILL);
      };
      SnapshotManagerOptions options = Options(1);
      options.save_options.test_hooks = &hooks;
      auto manager = SnapshotManager::Open(root, options);
      if (!manager.ok()) return std::string(manager.status().message());
      return std::string(manager->Save(300, VariablesForStep(300)).status().message());
    });
    ASSERT_TRUE(KilledBySigkill(wait_status)) << message;
    // The killed save left its temp dir, and removed no older snapshot.
    int leftovers = 0;
    for (const std::string& name : ListNames(root)) {
      const bool foreign =
          std::any_of(foreign_before.begin(), foreign_before.end(),
                      [&](const auto& file) { return file.first == root + "/" + name; });
      if (absl::StartsWith(name, tmp300) && !foreign) ++leftovers;
    }
    EXPECT_EQ(leftovers, 1);
    ExpectNoPartialFinalSnapshot(root);

    auto manager = SnapshotManager::Open(root, Options(1));
    ASSERT_TRUE(manager.ok()) << manager.status();
    EXPECT_EQ(ListedSteps(*manager), std::vector<int64_t>({100, 200}));
    auto after = Contents(root);
    drop_snapshots(after);
    EXPECT_EQ(after, foreign_before);
    EXPECT_TRUE(VerifySnapshot(root + absl::StrCat("/", SnapshotName(100))).ok());
    EXPECT_TRUE(VerifySnapshot(root + absl::StrCat("/", SnapshotName(200))).ok());
  }
}

// A retention removal killed at every step: no final-named snapshot is ever partial, the kept and
// new snapshots verify, and the next Open removes the hidden remains.
TEST(SnapshotManagerTest, KilledRemovalNeverLeavesAPartialSnapshot) {
  struct Kill {
    RemovalPhase phase;
    int removed;
  };
  for (const Kill kill :
       {Kill{RemovalPhase::kRenamed, 0}, Kill{RemovalPhase::kRootSynced, 0},
        Kill{RemovalPhase::kVariableRemoved, 1}, Kill{RemovalPhase::kVariableRemoved, 2},
        Kill{RemovalPhase::kRemoved, 0}}) {
    SCOPED_TRACE(absl::StrCat("phase ", static_cast<int>(kill.phase), " removed ", kill.removed));
    ScratchDir dir;
    const std::string root = dir.path();
    {
      auto manager = SnapshotManager::Open(root, Options(0));
      ASSERT_TRUE(manager.ok());
      ASSERT_TRUE(manager->Save(100, VariablesForStep(100)).ok());
      ASSERT_TRUE(manager->Save(200, VariablesForStep(200)).ok());
    }
    WriteFile(root + "/notes.txt", "keep me");
    auto [message, wait_status] = RunInChild([&] {
      SnapshotManagerTestHooks hooks;
      hooks.on_removal = [&](RemovalPhase phase, const std::string& victim, int removed) {
        if (phase == kill.phase && removed == kill.removed && victim == SnapshotName(100)) {
          ::raise(SIGKILL);
        }
      };
      auto manager = SnapshotManager::Open(root, Options(2, 0, &hooks));
      if (!manager.ok()) return std::string(manager.status().message());
      return std::string(manager->Save(300, VariablesForStep(300)).status().message());
    });
    ASSERT_TRUE(KilledBySigkill(wait_status)) << message;

    ExpectNoPartialFinalSnapshot(root);
    const std::vector<std::string> names = ListNames(root);
    const bool hidden_left = std::any_of(names.begin(), names.end(), [](const std::string& name) {
      return absl::StartsWith(name, absl::StrCat(".", SnapshotName(100), ".del-"));
    });
    EXPECT_EQ(hidden_left, kill.phase != RemovalPhase::kRemoved);

    auto manager = SnapshotManager::Open(root, Options(2));
    ASSERT_TRUE(manager.ok()) << manager.status();
    EXPECT_THAT(ListNames(root), ElementsAre("notes.txt", SnapshotName(200), SnapshotName(300)));
    EXPECT_EQ(ListedSteps(*manager), std::vector<int64_t>({200, 300}));
    EXPECT_EQ(ReadFile(root + "/notes.txt"), "keep me");
  }
}

}  // namespace
}  // namespace flow::checkpoint

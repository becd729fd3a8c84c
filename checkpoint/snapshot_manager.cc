#include "checkpoint/snapshot_manager.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "checkpoint/file_io.h"
#include "checkpoint/variable_name.h"
#include "runtime/status.h"

namespace flow::checkpoint {
namespace {

constexpr absl::string_view kSnapshotPrefix = "snapshot_";
constexpr int kMinStepDigits = 10;
constexpr absl::string_view kDeletionInfix = ".del-";

// The root itself may be reached through links (it is the user's path); what is inside is not.
absl::StatusOr<UniqueFd> OpenRoot(const std::string& root, absl::string_view what) {
  const int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, what, "open snapshot root");
  return UniqueFd(fd);
}

// "<pid>-<16 hex digits>", the suffix SaveSnapshot and RemoveSnapshot put after their prefixes.
std::optional<pid_t> ParseTempSuffix(absl::string_view suffix) {
  const size_t dash = suffix.find('-');
  if (dash == absl::string_view::npos || dash == 0 || dash > 10) return std::nullopt;
  const absl::string_view pid_text = suffix.substr(0, dash);
  const absl::string_view nonce = suffix.substr(dash + 1);
  if (pid_text.find_first_not_of("0123456789") != absl::string_view::npos) return std::nullopt;
  if (nonce.size() != 16) return std::nullopt;
  for (char c : nonce) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  int64_t pid = 0;
  if (!absl::SimpleAtoi(pid_text, &pid) || pid <= 0 || pid > INT32_MAX) return std::nullopt;
  return static_cast<pid_t>(pid);
}

// The pid in a leftover's name if it is one of ours: `.snapshot_<step>.tmp-<pid>-<nonce>` (a
// killed SaveSnapshot) or `.snapshot_<step>.del-<pid>-<nonce>` (a killed removal).
std::optional<pid_t> ParseLeftoverName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, ".")) return std::nullopt;
  const size_t dot = name.find('.');
  if (dot == absl::string_view::npos) return std::nullopt;
  const absl::string_view snapshot = name.substr(0, dot);
  if (!ParseSnapshotName(snapshot).has_value()) return std::nullopt;
  absl::string_view rest = name.substr(dot);
  const std::string tmp_infix =
      SnapshotTempDirPrefix(std::string(snapshot)).substr(1 + snapshot.size());  // ".tmp-"
  if (!absl::ConsumePrefix(&rest, tmp_infix) && !absl::ConsumePrefix(&rest, kDeletionInfix)) {
    return std::nullopt;
  }
  return ParseTempSuffix(rest);
}

bool ProcessIsAlive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string SnapshotName(int64_t step) {
  FLOWRT_CHECK(step >= 0) << "negative snapshot step " << step;
  return absl::StrFormat("%s%0*d", kSnapshotPrefix, kMinStepDigits, step);
}

std::optional<int64_t> ParseSnapshotName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kSnapshotPrefix)) return std::nullopt;
  if (name.size() < kMinStepDigits || name.size() > 19 ||
      name.find_first_not_of("0123456789") != absl::string_view::npos) {
    return std::nullopt;
  }
  int64_t step = 0;
  if (!absl::SimpleAtoi(name, &step) || step < 0) return std::nullopt;
  // One spelling per step: more than the minimum digits only without leading zeros.
  if (name.size() > kMinStepDigits && name[0] == '0') return std::nullopt;
  return step;
}

std::vector<int64_t> StepsToRemove(std::vector<int64_t> steps, int keep_last, int64_t keep_every) {
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  std::vector<int64_t> remove;
  if (keep_last <= 0) return remove;
  const size_t kept_tail = std::min(steps.size(), static_cast<size_t>(keep_last));
  for (size_t i = 0; i + kept_tail < steps.size(); ++i) {
    if (keep_every > 0 && steps[i] % keep_every == 0) continue;
    remove.push_back(steps[i]);
  }
  return remove;
}

absl::StatusOr<SnapshotManager> SnapshotManager::Open(const std::string& root,
                                                      const SnapshotManagerOptions& options) {
  const std::string what = absl::StrCat("snapshot root ", root);
  if (options.keep_last < 0 || options.keep_every < 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": keep_last (", options.keep_last,
                                                   ") and keep_every (", options.keep_every,
                                                   ") must not be negative"));
  }
  if (root.empty()) return absl::InvalidArgumentError("snapshot root: empty path");
  FLOWRT_RETURN_IF_ERROR(Prefixed(EnsureDirectory(root), absl::StrCat(what, ": ")));
  SnapshotManager manager(root, options);
  FLOWRT_RETURN_IF_ERROR(manager.RemoveLeftovers());
  return manager;
}

absl::Status SnapshotManager::RemoveLeftovers() const {
  const std::string what = absl::StrCat("snapshot root ", root_);
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd dir, OpenRoot(root_, what));
  FLOWRT_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(dir.get(), what));
  absl::Status first_error;
  bool removed_any = false;
  for (const std::string& name : names) {
    const std::optional<pid_t> pid = ParseLeftoverName(name);
    if (!pid.has_value()) continue;
    // Another live process may be saving or removing right now (a pid equal to ours is a
    // leftover of an earlier process: containers reuse small pids).
    if (*pid != ::getpid() && ProcessIsAlive(*pid)) continue;
    const std::string entry_what = absl::StrCat(what, ": leftover ", JoinPath(root_, name));
    absl::StatusOr<std::optional<struct stat>> st = StatAtNoFollow(dir.get(), name, entry_what);
    if (!st.ok()) {
      first_error.Update(st.status());
      continue;
    }
    // Saves and removals only ever leave directories; anything else with such a name is foreign.
    if (!st->has_value() || !S_ISDIR((*st)->st_mode)) continue;
    first_error.Update(Prefixed(RemoveTreeAt(dir.get(), name), absl::StrCat(entry_what, ": ")));
    removed_any = true;
  }
  if (removed_any) first_error.Update(Fsync(dir.get(), what));
  return first_error;
}

absl::StatusOr<std::vector<SnapshotInfo>> SnapshotManager::List() const {
  const std::string what = absl::StrCat("snapshot root ", root_);
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd dir, OpenRoot(root_, what));
  FLOWRT_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(dir.get(), what));
  std::vector<SnapshotInfo> snapshots;
  for (const std::string& name : names) {
    const std::optional<int64_t> step = ParseSnapshotName(name);
    if (!step.has_value()) continue;
    const std::string path = JoinPath(root_, name);
    const std::string entry_what = absl::StrCat(what, ": snapshot ", path);
    FLOWRT_ASSIGN_OR_RETURN(std::optional<struct stat> st,
                            StatAtNoFollow(dir.get(), name, entry_what));
    if (!st.has_value() || !S_ISDIR(st->st_mode)) continue;  // vanished, a file or a link
    absl::StatusOr<UniqueFd> snapshot_dir = OpenDirectoryAt(dir.get(), name, entry_what);
    if (!snapshot_dir.ok()) {
      if (absl::IsNotFound(snapshot_dir.status())) continue;  // removed since listed
      return snapshot_dir.status();
    }
    FLOWRT_ASSIGN_OR_RETURN(std::optional<struct stat> done,
                            StatAtNoFollow(snapshot_dir->get(), std::string(kSnapshotDoneFile),
                                           JoinPath(path, kSnapshotDoneFile)));
    if (!done.has_value() || !S_ISREG(done->st_mode)) continue;  // incomplete
    snapshots.push_back({.step = *step, .name = name, .path = path});
  }
  std::sort(snapshots.begin(), snapshots.end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.step < b.step; });
  return snapshots;
}

absl::StatusOr<std::optional<SnapshotInfo>> SnapshotManager::Latest() const {
  FLOWRT_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> snapshots, List());
  if (snapshots.empty()) return std::optional<SnapshotInfo>();
  return std::optional<SnapshotInfo>(std::move(snapshots.back()));
}

absl::StatusOr<std::string> SnapshotManager::Save(
    int64_t step, const std::vector<std::pair<std::string, Tensor>>& variables) {
  const std::string what = absl::StrCat("snapshot root ", root_);
  if (step < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot save step ", step, ": steps are not negative"));
  }
  const std::string name = SnapshotName(step);
  const std::string path = JoinPath(root_, name);
  FLOWRT_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> existing, List());
  if (!existing.empty() && existing.back().step >= step) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": cannot save ", name, ": snapshot ", existing.back().path,
                     " is of step ", existing.back().step,
                     ", not older; a run rewound to an earlier step must remove the "
                     "newer snapshots first"));
  }
  FLOWRT_RETURN_IF_ERROR(
      Prefixed(SaveSnapshot(path, variables, options_.save_options), absl::StrCat(what, ": ")));
  const absl::Status retention = ApplyRetention();
  if (!retention.ok()) {
    return absl::Status(retention.code(),
                        absl::StrCat(what, ": saved snapshot ", path,
                                     " (complete and durable), but removing an old snapshot "
                                     "failed: ",
                                     retention.message()));
  }
  return path;
}

absl::Status SnapshotManager::ApplyRetention() const {
  if (options_.keep_last <= 0) return absl::OkStatus();
  FLOWRT_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> snapshots, List());
  std::vector<int64_t> steps;
  for (const SnapshotInfo& info : snapshots) steps.push_back(info.step);
  const std::vector<int64_t> remove = StepsToRemove(steps, options_.keep_last, options_.keep_every);
  if (remove.empty()) return absl::OkStatus();
  const std::string what = absl::StrCat("snapshot root ", root_);
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd dir, OpenRoot(root_, what));
  absl::Status first_error;
  for (const SnapshotInfo& info : snapshots) {
    if (std::binary_search(remove.begin(), remove.end(), info.step)) {
      first_error.Update(RemoveSnapshot(dir.get(), info));
    }
  }
  return first_error;
}

absl::Status SnapshotManager::RemoveSnapshot(int dirfd, const SnapshotInfo& victim) const {
  std::random_device random;
  const uint64_t nonce = (uint64_t{random()} << 32) ^ random();
  const std::string hidden =
      absl::StrFormat(".%s%s%d-%016x", victim.name, kDeletionInfix, ::getpid(), nonce);
  const std::string what =
      absl::StrCat("removing snapshot ", victim.path, " (as ", JoinPath(root_, hidden), ")");
  // Hide it under a name no reader takes for a snapshot, durably, before deleting anything: a
  // crash then leaves either the complete snapshot or a hidden leftover Open() removes.
  if (::renameat(dirfd, victim.name.c_str(), dirfd, hidden.c_str()) != 0) {
    return ErrnoError(errno, what, "rename");
  }
  Hook(RemovalPhase::kRenamed, victim.name, 0);
  FLOWRT_RETURN_IF_ERROR(Fsync(dirfd, what));
  Hook(RemovalPhase::kRootSynced, victim.name, 0);
  {
    FLOWRT_ASSIGN_OR_RETURN(UniqueFd hidden_dir, OpenDirectoryAt(dirfd, hidden, what));
    FLOWRT_ASSIGN_OR_RETURN(std::vector<std::string> children,
                            ListDirectory(hidden_dir.get(), what));
    int removed = 0;
    for (const std::string& child : children) {
      FLOWRT_RETURN_IF_ERROR(
          Prefixed(RemoveTreeAt(hidden_dir.get(), child), absl::StrCat(what, ": ")));
      if (child != kSnapshotDoneFile) Hook(RemovalPhase::kVariableRemoved, victim.name, ++removed);
    }
  }
  if (::unlinkat(dirfd, hidden.c_str(), AT_REMOVEDIR) != 0) {
    return ErrnoError(errno, what, "rmdir");
  }
  Hook(RemovalPhase::kRemoved, victim.name, 0);
  return absl::OkStatus();
}

void SnapshotManager::Hook(RemovalPhase phase, const std::string& victim, int removed) const {
  if (options_.test_hooks != nullptr && options_.test_hooks->on_removal) {
    options_.test_hooks->on_removal(phase, victim, removed);
  }
}

}  // namespace flow::checkpoint

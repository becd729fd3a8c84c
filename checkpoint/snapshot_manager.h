// A directory of training snapshots, one per saved step (OneFlow's SimpleCheckPointManager, with
// step names, retention and crash safety):
//
//   flow::checkpoint::SnapshotManagerOptions options;
//   options.keep_last = 3;         // the 3 newest
//   options.keep_every = 10000;    // and steps 10000, 20000, ... forever
//   FLOWRT_ASSIGN_OR_RETURN(auto manager, flow::checkpoint::SnapshotManager::Open("./run1",
//   options)); FLOWRT_ASSIGN_OR_RETURN(std::optional<flow::checkpoint::SnapshotInfo> latest,
//   manager.Latest()); if (latest) { FLOWRT_ASSIGN_OR_RETURN(auto snapshot,
//   flow::checkpoint::get(latest->path)); ... }
//   ...
//   FLOWRT_ASSIGN_OR_RETURN(std::string path, manager.Save(step, variables));
//   // path == "./run1/snapshot_0000001000" for step 1000
//
// Layout: `<root>/snapshot_<step>` with the step zero-padded to at least 10 digits, so that
// sorting names sorts steps (below 10^10): OneFlow's own manager, which takes the
// lexicographically last `snapshot_*` holding `snapshot_done`, agrees with Latest(). Only the
// canonical spelling of a step is a snapshot name (`snapshot_1000` and `snapshot_01000` are not);
// everything else in the root is foreign and never read, changed or deleted.
//
// Crash safety: Save is SaveSnapshot (atomic: temp dir, fsync, rename, fsync root). Retention then
// removes old snapshots, only after the new one is durable, each by first renaming it to a hidden
// `.snapshot_<step>.del-<pid>-<nonce>` and fsyncing the root, and only then deleting the tree, so a
// crash at any instant leaves every final-named snapshot complete. Open() removes what killed
// saves and deletions leave behind (`.snapshot_<step>.tmp-*` from SaveSnapshot, `.del-*` from
// retention), and nothing else. One root is meant to be managed by one SnapshotManager at a time:
// leftovers whose name carries the pid of another live process are left alone, but those of this
// process are taken for an earlier process's (containers reuse pids), so opening a second manager
// on a root while another one in the same process is saving would remove that save's temp dir.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "checkpoint/snapshot_writer.h"
#include "runtime/tensor.h"

namespace flow::checkpoint {

// Test-only instrumentation of retention, for kill-in-the-middle tests.
enum class RemovalPhase {
  kRenamed,          // the victim is under its hidden `.del-` name; the root is not yet fsynced
  kRootSynced,       // the rename is durable; nothing has been deleted yet
  kVariableRemoved,  // one variable directory of the victim has been deleted (count in `removed`)
  kRemoved,          // the victim is gone
};
struct SnapshotManagerTestHooks {
  std::function<void(RemovalPhase phase, const std::string& victim, int removed)> on_removal;
};

struct SnapshotManagerOptions {
  // Keep the `keep_last` highest-step complete snapshots; 0 keeps every snapshot (no retention).
  int keep_last = 3;
  // Also keep, forever, every snapshot whose step is a multiple of `keep_every` (0: none). By step
  // rather than by count, so what is kept does not shift as older snapshots are removed.
  int64_t keep_every = 0;
  // Passed to SaveSnapshot (legacy layout, checksums, save fault injection).
  SaveOptions save_options;
  // Retention fault injection for tests; null in real use.
  const SnapshotManagerTestHooks* test_hooks = nullptr;
};

struct SnapshotInfo {
  int64_t step = 0;
  std::string name;  // "snapshot_0000001000"
  std::string path;  // JoinPath(root, name)
  friend bool operator==(const SnapshotInfo&, const SnapshotInfo&) = default;
};

// "snapshot_0000001000" for 1000; steps >= 10^10 get as many digits as they need. CHECKs step >= 0.
std::string SnapshotName(int64_t step);
// The step a canonical snapshot name stands for; nullopt for any other name (foreign, temp, a
// non-canonical spelling such as "snapshot_1000", a negative or overflowing step).
std::optional<int64_t> ParseSnapshotName(absl::string_view name);

// Which of `steps` (the complete snapshots, any order) retention removes: all but the
// `keep_last` highest and the multiples of `keep_every`, ascending. Pure arithmetic, for tests.
std::vector<int64_t> StepsToRemove(std::vector<int64_t> steps, int keep_last, int64_t keep_every);

class SnapshotManager {
 public:
  // Opens (creating it and its parents if missing) the snapshot root `root`, and removes leftovers
  // of killed saves and deletions (see above). InvalidArgument for negative options;
  // FailedPrecondition if `root` exists but is not a directory.
  static absl::StatusOr<SnapshotManager> Open(const std::string& root,
                                              const SnapshotManagerOptions& options = {});

  // Saves `variables` as `<root>/snapshot_<step>` and returns its path, then applies retention.
  // Refuses (FailedPrecondition) a step not greater than every complete snapshot's step (a rewound
  // run must remove the newer snapshots first, or Latest() would skip its saves) and a name that
  // is already taken. Nothing is removed unless the new snapshot is durable. If the save succeeds
  // but a removal fails, the error says the new snapshot was saved and which removal failed.
  absl::StatusOr<std::string> Save(int64_t step,
                                   const std::vector<std::pair<std::string, Tensor>>& variables);

  // The complete snapshot (a directory, not a link, with a canonical name and a regular
  // `snapshot_done` file) with the highest step; nullopt if there is none. Temp dirs, foreign
  // entries and incomplete snapshot dirs are ignored. Contents are not verified: GetSnapshot does.
  absl::StatusOr<std::optional<SnapshotInfo>> Latest() const;

  // Every complete snapshot, ascending by step.
  absl::StatusOr<std::vector<SnapshotInfo>> List() const;

  const std::string& root() const { return root_; }
  const SnapshotManagerOptions& options() const { return options_; }

 private:
  SnapshotManager(std::string root, const SnapshotManagerOptions& options)
      : root_(std::move(root)), options_(options) {}

  absl::Status RemoveLeftovers() const;
  absl::Status ApplyRetention() const;
  absl::Status RemoveSnapshot(int dirfd, const SnapshotInfo& victim) const;
  void Hook(RemovalPhase phase, const std::string& victim, int removed) const;

  std::string root_;
  SnapshotManagerOptions options_;
};

}  // namespace flow::checkpoint

// Which variable names may become a directory of a snapshot. A name must be exactly one safe path
// component, so that `<root>/<name>` can never escape the snapshot or land on another variable,
// on any file system flowrt or OneFlow users put snapshots on.
//
//   FLOWRT_RETURN_IF_ERROR(flow::checkpoint::CheckVariableName(name));           // one name
//   FLOWRT_RETURN_IF_ERROR(flow::checkpoint::CheckDistinctVariableNames(names));  // a whole
//   snapshot
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace flow::checkpoint {

// Longest name accepted: NAME_MAX on Linux and most file systems.
inline constexpr size_t kMaxVariableNameBytes = 255;

// The marker file at the snapshot root; no variable may take its name.
inline constexpr absl::string_view kSnapshotDoneFile = "snapshot_done";

// OK iff `name` is non-empty, at most 255 bytes, made only of ASCII letters, digits and
// `- _ . : + = @`, does not start with '.' (which also excludes "." and ".." and hides nothing),
// and is not "snapshot_done". Every name OneFlow's layers generate (`conv1-weight`,
// `System-Train-TrainStep-train_job`, `dense1-weight-momentum`) passes. The error quotes the name
// with non-printable bytes escaped.
absl::Status CheckVariableName(absl::string_view name);

// OK iff every name passes CheckVariableName and no two are equal ignoring ASCII case (they would
// share one directory on macOS/Windows file systems, silently overwriting each other).
absl::Status CheckDistinctVariableNames(const std::vector<std::string>& names);

}  // namespace flow::checkpoint

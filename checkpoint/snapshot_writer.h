// Writes a OneFlow snapshot directory, atomically. `flow::checkpoint::save` (all session
// variables) is built on this; it knows nothing of sessions or jobs.
//
//   std::vector<std::pair<std::string, flow::Tensor>> vars = {{"dense1-weight", w}, ...};
//   FLOWRT_RETURN_IF_ERROR(flow::checkpoint::SaveSnapshot("./mlp_models_1", vars));
//
// Layout (OneFlow's, see DESIGN.md §4): `<path>/<name>/out` raw little-endian C-order bytes,
// `<path>/<name>/meta` VariableMetaInfo text, `<path>/snapshot_done` empty, written last; plus
// flowrt's `<path>/<name>/out.crc32c` sidecar (checksum_file.h), which OneFlow ignores.
//
// Commit protocol: everything goes into a hidden temp dir beside `path`
// (`.<basename>.tmp-<pid>-<random>`, see SnapshotTempDirPrefix); every file and every variable
// directory is fsynced, then `snapshot_done` is written, then it and the temp dir are fsynced,
// then the temp dir is renamed to `path` and the parent is fsynced. A crash leaves either no
// `path` or a complete one (plus possibly a temp dir, which a snapshot manager may clean up by
// its prefix). A failed save removes its temp dir.
//
// Speed without weakening that: each file's writeback starts as soon as it is written
// (sync_file_range), and the fsyncs run on a few threads while the next files are written
// (file_io.h FsyncPool), so they overlap instead of queueing one behind another. Every fsync
// still completes before the step that depends on it (snapshot_done after all variables, the
// rename after snapshot_done and the temp dir).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "runtime/tensor.h"

namespace flow::checkpoint {

// Test-only instrumentation of a save, for fault-injection tests (crash at a phase, I/O errors).
enum class SavePhase {
  // Variables 1..count (in name order) have durable files and directories; fired once per
  // variable, after the batch of fsyncs that covered it (later variables may be written already).
  kVariableWritten,
  kSnapshotDoneWritten,  // snapshot_done and the temp dir are durable, not yet renamed
  kRenamed,              // the final name exists and its parent is fsynced
};
enum class SaveIoOp { kWrite, kFsync, kClose, kRename, kStartWriteback };
struct SaveTestHooks {
  // Called at each phase; a test may kill the process here.
  std::function<void(SavePhase phase, int variables_written)> on_phase;
  // Called before each write/sync_file_range/fsync/close/rename with the file it concerns, always
  // on the saving thread in program order (for an fsync: when it is queued for the fsync
  // threads); a non-zero return makes that call fail with that errno, as if the kernel had
  // returned it.
  std::function<int(SaveIoOp op, const std::string& file)> inject_errno;
};

struct SaveOptions {
  // OneFlow <= 0.3.1 layout (`flow.config.enable_legacy_model_io(True)`): `out` only, no `meta`.
  bool legacy_layout = false;
  // Write the CRC32C sidecar `out.crc32c` per variable (flowrt extension).
  bool write_checksums = true;
  // Fault injection for tests; null in real use.
  const SaveTestHooks* test_hooks = nullptr;
};

// Writes `variables` (name -> tensor; written in name order) as a snapshot at `path`.
// Refuses (FailedPrecondition) a `path` that is a file, a symbolic link or a non-empty directory;
// an empty directory is replaced. Missing parent directories are created, as OneFlow's
// os.makedirs does, and are left in place if the save then fails. Refuses (InvalidArgument)
// unsafe or case-colliding names (variable_name.h), undefined tensors and dtypes without an item
// size. Tensor bytes are streamed from the tensors' buffers, never copied. Every write, fsync,
// close and rename is checked; on failure the temp dir is removed and the error names the
// variable and file. One exception: if fsyncing the parent fails after the rename, the complete
// snapshot stays under `path` (deleting it could not be atomic) and the error says it may not be
// durable.
absl::Status SaveSnapshot(const std::string& path,
                          const std::vector<std::pair<std::string, Tensor>>& variables,
                          const SaveOptions& options = {});

// Every temp dir a save of `<parent>/<basename>` creates starts with this prefix inside
// <parent> (basename truncated to keep the name within 255 bytes). For leftover cleanup.
std::string SnapshotTempDirPrefix(const std::string& basename);

}  // namespace flow::checkpoint

#include "checkpoint/snapshot_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "checkpoint/checksum_file.h"
#include "checkpoint/crc32c.h"
#include "checkpoint/file_io.h"
#include "checkpoint/meta_file.h"
#include "checkpoint/variable_name.h"
#include "runtime/status.h"

namespace flow::checkpoint {
namespace {

// Bytes handed to one write() call (and CRC'd just before): large enough for full disk bandwidth,
// small enough that the CRC reads the chunk while it is still in cache.
constexpr size_t kWriteChunk = size_t{8} << 20;
// Keeps `.<basename>.tmp-<pid>-<16 hex>` within NAME_MAX.
constexpr size_t kMaxBasenameInTempName = 200;
// fsyncs in flight at once (FsyncPool). They wait on the device, not on a CPU: the gain is that
// their synchronous metadata writes and cache flushes overlap (tools/bench/RESULTS.md, checkpoint).
constexpr int kFsyncThreads = 8;
// Files and directories written but not yet fsynced and closed; past this, the save waits for
// them before it starts the next variable (bounds the descriptors held, 4 per variable).
constexpr size_t kMaxPendingFiles = 128;

class SnapshotWriter {
 public:
  SnapshotWriter(const std::string& path, const SaveOptions& options)
      : path_(path), options_(options) {}

  absl::Status Save(const std::vector<std::pair<std::string, Tensor>>& variables) {
    FLOWRT_RETURN_IF_ERROR(ValidateVariables(variables));
    FLOWRT_RETURN_IF_ERROR(CheckTarget());
    FLOWRT_RETURN_IF_ERROR(CreateTempDir());
    absl::Status status = WriteAndCommit(variables);
    if (!status.ok() && !renamed_) {
      // No descriptor may close while a worker may still fsync it.
      pool_.Wait().IgnoreError();
      pending_.clear();
      tmp_fd_ = UniqueFd();
      const absl::Status cleanup = RemoveTreeAt(parent_fd_.get(), tmp_name_);
      if (!cleanup.ok()) {
        status =
            absl::Status(status.code(),
                         absl::StrCat(status.message(),
                                      "; removing the temp dir also failed: ", cleanup.message()));
      }
    }
    return status;
  }

 private:
  absl::Status ValidateVariables(const std::vector<std::pair<std::string, Tensor>>& variables) {
    std::vector<std::string> names;
    names.reserve(variables.size());
    for (const auto& [name, tensor] : variables) {
      names.push_back(name);
      if (!tensor.defined() || ItemSize(tensor.dtype()) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot save variable \"", name, "\" to ", path_, ": its tensor is ",
                         tensor.defined() ? tensor.DebugString() : std::string("undefined")));
      }
      if (tensor.num_bytes() > 0 && tensor.raw_data() == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("cannot save variable \"", name, "\" to ",
                                                       path_, ": its tensor has no buffer"));
      }
    }
    return Prefixed(CheckDistinctVariableNames(names),
                    absl::StrCat("cannot save snapshot ", path_, ": "));
  }

  // Splits the target, creates missing parents and refuses anything but nothing/an empty dir.
  absl::Status CheckTarget() {
    std::string path = path_;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const size_t slash = path.rfind('/');
    base_ = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base_.empty() || base_ == "." || base_ == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot save snapshot to \"", path_, "\": it does not name a directory"));
    }
    parent_ = Dirname(path);
    final_path_ = JoinPath(parent_, base_);
    FLOWRT_RETURN_IF_ERROR(
        Prefixed(EnsureDirectory(parent_), absl::StrCat("cannot save snapshot ", path_, ": ")));
    const int fd = ::open(parent_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, parent_, "open parent directory");
    parent_fd_ = UniqueFd(fd);

    FLOWRT_ASSIGN_OR_RETURN(std::optional<struct stat> st,
                            StatAtNoFollow(parent_fd_.get(), base_, final_path_));
    if (!st.has_value()) return absl::OkStatus();
    if (!S_ISDIR(st->st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("cannot save snapshot: ", final_path_,
                                                        " is a ", FileTypeName(st->st_mode),
                                                        "; save needs a new or empty directory"));
    }
    FLOWRT_ASSIGN_OR_RETURN(UniqueFd existing,
                            OpenDirectoryAt(parent_fd_.get(), base_, final_path_));
    FLOWRT_ASSIGN_OR_RETURN(std::vector<std::string> entries,
                            ListDirectory(existing.get(), final_path_));
    if (!entries.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot save snapshot: ", final_path_, " is a non-empty directory (it holds \"",
          entries.front(), "\"", entries.size() > 1 ? " and more" : "",
          "); save needs a new or empty directory"));
    }
    return absl::OkStatus();
  }

  absl::Status CreateTempDir() {
    std::random_device random;
    const uint64_t nonce = (uint64_t{random()} << 32) ^ random();
    tmp_name_ = absl::StrFormat("%s%d-%016x", SnapshotTempDirPrefix(base_), ::getpid(), nonce);
    tmp_path_ = JoinPath(parent_, tmp_name_);
    if (::mkdirat(parent_fd_.get(), tmp_name_.c_str(), 0755) != 0) {
      return ErrnoError(errno, absl::StrCat("saving snapshot ", final_path_, ": ", tmp_path_),
                        "mkdir temp dir");
    }
    FLOWRT_ASSIGN_OR_RETURN(tmp_fd_, OpenDirectoryAt(parent_fd_.get(), tmp_name_, tmp_path_));
    return absl::OkStatus();
  }

  // Writes every variable, each file's writeback started as soon as it is written and its fsync
  // (and its directory's) queued on pool_; waits for them all (SyncVariables), then writes
  // snapshot_done and fsyncs it and the temp dir, renames, and fsyncs the parent.
  absl::Status WriteAndCommit(const std::vector<std::pair<std::string, Tensor>>& variables) {
    std::vector<const std::pair<std::string, Tensor>*> ordered;
    for (const auto& variable : variables) ordered.push_back(&variable);
    std::sort(ordered.begin(), ordered.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* variable : ordered) {
      FLOWRT_RETURN_IF_ERROR(WriteVariable(variable->first, variable->second));
      if (pending_.size() >= kMaxPendingFiles) FLOWRT_RETURN_IF_ERROR(SyncVariables());
    }
    FLOWRT_RETURN_IF_ERROR(SyncVariables());

    // Every variable is durable; now the completion marker and the temp dir's own entries.
    const std::string tmp_what = absl::StrCat("saving snapshot ", final_path_, ": ", tmp_path_);
    FLOWRT_RETURN_IF_ERROR(WriteFile(
        tmp_fd_.get(), std::string(kSnapshotDoneFile), JoinPath(tmp_path_, kSnapshotDoneFile),
        absl::StrCat("saving snapshot ", final_path_, ": "), nullptr, 0, nullptr));
    FLOWRT_RETURN_IF_ERROR(QueueSync(std::move(tmp_fd_), tmp_path_, tmp_what));
    FLOWRT_RETURN_IF_ERROR(SyncPending());
    Phase(SavePhase::kSnapshotDoneWritten, variables_queued_);

    // rename(2) replaces an empty directory atomically and fails if anything appeared meanwhile.
    const std::string rename_what =
        absl::StrCat("saving snapshot ", final_path_, ": renaming ", tmp_path_);
    FLOWRT_RETURN_IF_ERROR(Inject(SaveIoOp::kRename, final_path_, rename_what, "rename"));
    if (::renameat(parent_fd_.get(), tmp_name_.c_str(), parent_fd_.get(), base_.c_str()) != 0) {
      return ErrnoError(errno, rename_what, "rename");
    }
    renamed_ = true;
    const std::string parent_what =
        absl::StrCat("saved snapshot ", final_path_,
                     " completely, but it may not survive a crash: parent directory ", parent_);
    FLOWRT_RETURN_IF_ERROR(Inject(SaveIoOp::kFsync, parent_, parent_what, "fsync"));
    FLOWRT_RETURN_IF_ERROR(Fsync(parent_fd_.get(), parent_what));
    Phase(SavePhase::kRenamed, variables_queued_);
    return absl::OkStatus();
  }

  // Writes `<name>/out`, `meta` and the sidecar, and queues their fsyncs and the directory's.
  absl::Status WriteVariable(const std::string& name, const Tensor& tensor) {
    const std::string dir_path = JoinPath(tmp_path_, name);
    const std::string var_what =
        absl::StrCat("saving snapshot ", final_path_, ": variable \"", name, "\": ");
    if (::mkdirat(tmp_fd_.get(), name.c_str(), 0755) != 0) {
      return ErrnoError(errno, absl::StrCat(var_what, dir_path), "mkdir");
    }
    FLOWRT_ASSIGN_OR_RETURN(UniqueFd dir,
                            OpenDirectoryAt(tmp_fd_.get(), name, absl::StrCat(var_what, dir_path)));

    uint32_t crc = 0;
    const int64_t size = tensor.num_bytes();
    FLOWRT_RETURN_IF_ERROR(WriteFile(dir.get(), "out", JoinPath(dir_path, "out"), var_what,
                                     tensor.raw_data(), static_cast<size_t>(size), &crc));
    if (!options_.legacy_layout) {
      const std::string meta = FormatMetaFile(tensor.shape(), tensor.dtype());
      FLOWRT_RETURN_IF_ERROR(WriteFile(dir.get(), "meta", JoinPath(dir_path, "meta"), var_what,
                                       meta.data(), meta.size(), nullptr));
    }
    if (options_.write_checksums) {
      const std::string sidecar = FormatChecksumFile({.crc32c = crc, .size = size});
      FLOWRT_RETURN_IF_ERROR(WriteFile(dir.get(), std::string(kChecksumFile),
                                       JoinPath(dir_path, kChecksumFile), var_what, sidecar.data(),
                                       sidecar.size(), nullptr));
    }
    // Every entry exists, so the directory's fsync can run alongside its files'.
    FLOWRT_RETURN_IF_ERROR(QueueSync(std::move(dir), dir_path, absl::StrCat(var_what, dir_path)));
    ++variables_queued_;
    return absl::OkStatus();
  }

  // Creates `name` (at `file`) in `dirfd` and writes [data, data+size) in chunks (CRC'ing them
  // into *crc if given), starting each chunk's writeback as soon as it is written, then queues
  // the file's fsync (QueueSync). Errors read "<context><file>: ...".
  absl::Status WriteFile(int dirfd, const std::string& name, const std::string& file,
                         absl::string_view context, const void* data, size_t size, uint32_t* crc) {
    std::string what = absl::StrCat(context, file);
    FLOWRT_ASSIGN_OR_RETURN(UniqueFd fd, CreateFileAt(dirfd, name, what));
    const char* bytes = static_cast<const char*>(data);
    for (size_t done = 0; done < size;) {
      const size_t n = std::min(kWriteChunk, size - done);
      if (crc != nullptr) *crc = Crc32cExtend(*crc, bytes + done, n);
      FLOWRT_RETURN_IF_ERROR(Inject(SaveIoOp::kWrite, file, what, "write"));
      FLOWRT_RETURN_IF_ERROR(WriteAll(fd.get(), bytes + done, n, what));
      FLOWRT_RETURN_IF_ERROR(Inject(SaveIoOp::kStartWriteback, file, what, "start writeback"));
      FLOWRT_RETURN_IF_ERROR(
          StartWriteback(fd.get(), static_cast<int64_t>(done), static_cast<int64_t>(n), what));
      done += n;
    }
    return QueueSync(std::move(fd), file, std::move(what));
  }

  // Hands `fd` (of `file`) to the fsync pool; SyncPending closes it once its fsync has returned.
  // The test hook runs here, on this thread, in program order, like every other hook.
  absl::Status QueueSync(UniqueFd fd, const std::string& file, std::string what) {
    FLOWRT_RETURN_IF_ERROR(Inject(SaveIoOp::kFsync, file, what, "fsync"));
    pool_.Add(fd.get(), what);
    pending_.push_back({.fd = std::move(fd), .file = file, .what = std::move(what)});
    return absl::OkStatus();
  }

  // Waits for every queued fsync (the first error in queue order wins), then closes the files
  // and directories in that order, checking each close.
  absl::Status SyncPending() {
    FLOWRT_RETURN_IF_ERROR(pool_.Wait());
    for (PendingSync& pending : pending_) {
      FLOWRT_RETURN_IF_ERROR(Inject(SaveIoOp::kClose, pending.file, pending.what, "close"));
      FLOWRT_RETURN_IF_ERROR(Close(pending.fd, pending.what));
    }
    pending_.clear();
    return absl::OkStatus();
  }

  // SyncPending, then reports each variable it made durable (kVariableWritten, in name order).
  absl::Status SyncVariables() {
    FLOWRT_RETURN_IF_ERROR(SyncPending());
    while (variables_durable_ < variables_queued_) {
      Phase(SavePhase::kVariableWritten, ++variables_durable_);
    }
    return absl::OkStatus();
  }

  absl::Status Inject(SaveIoOp op, const std::string& file, absl::string_view what,
                      absl::string_view action) {
    if (options_.test_hooks == nullptr || !options_.test_hooks->inject_errno) {
      return absl::OkStatus();
    }
    const int error = options_.test_hooks->inject_errno(op, file);
    if (error == 0) return absl::OkStatus();
    return ErrnoError(error, what, action);
  }

  void Phase(SavePhase phase, int written) {
    if (options_.test_hooks != nullptr && options_.test_hooks->on_phase) {
      options_.test_hooks->on_phase(phase, written);
    }
  }

  // A file or directory whose fsync is queued, and what a hook and an error call it.
  struct PendingSync {
    UniqueFd fd;
    std::string file, what;
  };

  const std::string path_;
  const SaveOptions& options_;
  std::string base_, parent_, final_path_, tmp_name_, tmp_path_;
  UniqueFd parent_fd_, tmp_fd_;
  bool renamed_ = false;
  int variables_queued_ = 0;   // variables whose files are all written and queued
  int variables_durable_ = 0;  // of those, reported durable (kVariableWritten)
  std::vector<PendingSync> pending_;
  // Declared after pending_, so it is destroyed (waiting for its fsyncs) before they are closed.
  FsyncPool pool_{kFsyncThreads};
};

}  // namespace

std::string SnapshotTempDirPrefix(const std::string& basename) {
  return absl::StrCat(".", basename.substr(0, kMaxBasenameInTempName), ".tmp-");
}

absl::Status SaveSnapshot(const std::string& path,
                          const std::vector<std::pair<std::string, Tensor>>& variables,
                          const SaveOptions& options) {
  return SnapshotWriter(path, options).Save(variables);
}

}  // namespace flow::checkpoint

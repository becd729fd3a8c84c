// Checked POSIX file operations for snapshots: every call's return is checked (short writes,
// EINTR, ENOSPC, EFBIG, EIO, close errors) and turned into an absl::Status whose message starts
// with the caller's `what` (e.g. `variable "w": /snap/w/out`), so errors name variable and file.
// Opens never follow a symbolic link in the last component, and never open a FIFO or device:
// the type is checked with fstatat(AT_SYMLINK_NOFOLLOW) first and again with fstat after an
// O_NONBLOCK open, so a swap in between cannot block or read a device either.
//
//   FLOWRT_ASSIGN_OR_RETURN(UniqueFd dir, OpenDirectory("/snap/w", what));
//   FLOWRT_ASSIGN_OR_RETURN(UniqueFd out, OpenRegularFileAt(dir.get(), "out", what));
//   FLOWRT_RETURN_IF_ERROR(ReadExactly(out.get(), buffer, n, what));
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace flow::checkpoint {

// Owns a file descriptor; closes it (unchecked) on destruction. Writers call Close() to check.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// "<what>: <action>: <strerror> (errno N)" with the absl code errno maps to.
absl::Status ErrnoError(int error, absl::string_view what, absl::string_view action);

// "symbolic link", "FIFO", "character device", ... for messages.
std::string FileTypeName(mode_t mode);

// lstat-like stat of `name` in `dirfd`; nullopt if it does not exist. Other errors are returned.
absl::StatusOr<std::optional<struct stat>> StatAtNoFollow(int dirfd, const std::string& name,
                                                          absl::string_view what);

// Opens a directory without following a symlink in the last component (`path` may be relative).
absl::StatusOr<UniqueFd> OpenDirectory(const std::string& path, absl::string_view what);
absl::StatusOr<UniqueFd> OpenDirectoryAt(int dirfd, const std::string& name,
                                         absl::string_view what);

// Opens an existing regular file read-only; refuses symlinks, FIFOs, devices and sockets.
// `stat_out`, if given, receives the fstat of the opened descriptor (size to validate).
absl::StatusOr<UniqueFd> OpenRegularFileAt(int dirfd, const std::string& name,
                                           absl::string_view what, struct stat* stat_out = nullptr);

// Creates a new file (O_EXCL: never reuses or truncates anything) for writing.
absl::StatusOr<UniqueFd> CreateFileAt(int dirfd, const std::string& name, absl::string_view what);

// Writes all `size` bytes, retrying short writes and EINTR.
absl::Status WriteAll(int fd, const void* data, size_t size, absl::string_view what);
// Reads exactly `size` bytes; a file that ends early is DataLoss.
absl::Status ReadExactly(int fd, void* data, size_t size, absl::string_view what);
// OK iff the descriptor is at end of file (a file that grew after its size was checked).
absl::Status ExpectEndOfFile(int fd, absl::string_view what);
// Reads a whole small regular file, refusing one larger than `max_bytes` before reading it.
absl::StatusOr<std::string> ReadSmallFileAt(int dirfd, const std::string& name, int64_t max_bytes,
                                            absl::string_view what);

absl::Status Fsync(int fd, absl::string_view what);

// Starts writing [offset, offset + bytes) of `fd` back to the disk without waiting
// (sync_file_range(SYNC_FILE_RANGE_WRITE)), so that a later fsync finds the data already on its
// way instead of starting all of it then. A hint, never a durability guarantee: "not supported
// here" (EINVAL, ENOSYS, ESPIPE, EOPNOTSUPP) and EINTR are OK; any other error (EIO, ENOSPC,
// ENOMEM, ...) is returned.
absl::Status StartWriteback(int fd, int64_t offset, int64_t bytes, absl::string_view what);

// fsync()s descriptors on a few worker threads, so that the waits of many fsyncs overlap with
// each other and with the caller's next writes: the device gets their writes and cache flushes
// together instead of one round trip after another (on a file system that makes every fsync of a
// new file a synchronous inode write plus a cache flush, a sequential chain of them dominates a
// save of many small files). The caller keeps each descriptor open until Wait() has returned.
//
//   FsyncPool pool(8);
//   pool.Add(out.get(), "variable \"w\": /snap/w/out");   // returns at once
//   ...
//   FLOWRT_RETURN_IF_ERROR(pool.Wait());   // every fsync added so far has returned
class FsyncPool {
 public:
  // At most `max_threads` (>= 1) workers, started as work arrives.
  explicit FsyncPool(int max_threads);
  // Waits for every added fsync (results unreported), then joins the workers.
  ~FsyncPool();
  FsyncPool(const FsyncPool&) = delete;
  FsyncPool& operator=(const FsyncPool&) = delete;

  // Queues fsync(fd); an error is reported by Wait() as "<what>: fsync: <strerror> (errno N)".
  void Add(int fd, std::string what);
  // Blocks until every fsync added since the last Wait() has returned; then the first error
  // among them in the order they were added, or OK. The pool can be used again afterwards.
  absl::Status Wait();

 private:
  struct Task {
    int fd;
    std::string what;
    absl::Status result;
  };
  void Work();
  bool AllFinished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool WorkOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_threads_;
  mutable absl::Mutex mu_;
  std::vector<Task> tasks_ ABSL_GUARDED_BY(mu_);  // since the last Wait(), in Add order
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;          // first task no worker has taken
  size_t finished_ ABSL_GUARDED_BY(mu_) = 0;      // tasks whose fsync returned
  int idle_ ABSL_GUARDED_BY(mu_) = 0;             // workers waiting for a task
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;  // touched only by the owning thread
};
// Closes and reports the error close() returns (NFS and some FUSE file systems report write
// errors only there).
absl::Status Close(UniqueFd& fd, absl::string_view what);

// Opens `path` as a directory and fsyncs it (persists entries created or renamed in it).
absl::Status FsyncDirectory(const std::string& path, absl::string_view what);

// Names in a directory except "." and "..", sorted (so errors come in a stable order).
absl::StatusOr<std::vector<std::string>> ListDirectory(int dirfd, absl::string_view what);

// Removes `name` in `dirfd` and, if it is a directory, everything below it, never following a
// symbolic link (a link is unlinked, not its target). Used only on flowrt's own temp dirs.
absl::Status RemoveTreeAt(int dirfd, const std::string& name);

// Joins path components with '/', without doubling a trailing separator.
std::string JoinPath(absl::string_view dir, absl::string_view name);

// The directory part of `path`: "a/b" → "a", "b" → ".", "/b" → "/".
std::string Dirname(const std::string& path);

// mkdir -p, making each new directory's entry durable in its parent (else a crash could lose a
// snapshot root, snapshots included, even after they were fsynced).
absl::Status EnsureDirectory(const std::string& path);

// EnsureDirectory(Dirname(file_path)): every path a user gives for a file to write (metrics,
// .npz, .dot, .png) gets its missing parents, as `mkdir -p` and OneFlow's os.makedirs would. The
// error names the file, the directory that could not be made and why:
//   "cannot write a/b/m.csv: a is a regular file, not a directory"
absl::Status EnsureParentDirectory(const std::string& file_path);

// Writes `bytes` to `path` as a whole or not at all: a temp file beside it, fsynced, renamed over
// `path`, the directory fsynced; missing parents are made (EnsureParentDirectory). Refuses a
// `path` that exists and is not a regular file (a directory, a FIFO, a link). .npz, .onnx.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes);

// `status` with `prefix` before its message (OK stays OK).
absl::Status Prefixed(const absl::Status& status, absl::string_view prefix);

}  // namespace flow::checkpoint

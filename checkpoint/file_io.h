// Checked POSIX file operations for snapshots: every call's return is checked (short writes,
// EINTR, ENOSPC, EFBIG, EIO, close errors) and turned into an absl::Status whose message starts
// with the caller's `what` (e.g. `variable "w": /snap/w/out`), so errors name variable and file.
// Opens never follow a symbolic link in the last component, and never open a FIFO or device:
// the type is checked with fstatat(AT_SYMLINK_NOFOLLOW) first and again with fstat after an
// O_NONBLOCK open, so a swap in between cannot block or read a device either.
//
//   ASSIGN_OR_RETURN(UniqueFd dir, OpenDirectory("/snap/w", what));
//   ASSIGN_OR_RETURN(UniqueFd out, OpenRegularFileAt(dir.get(), "out", what));
//   RETURN_IF_ERROR(ReadExactly(out.get(), buffer, n, what));
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

// `status` with `prefix` before its message (OK stays OK).
absl::Status Prefixed(const absl::Status& status, absl::string_view prefix);

}  // namespace flow::checkpoint

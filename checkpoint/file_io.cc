#include "checkpoint/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace flow::checkpoint {
namespace {

// One read()/write() call moves at most this much; Linux caps a call at ~2 GiB anyway.
constexpr size_t kMaxIoCall = size_t{1} << 30;

absl::Status WrongType(absl::string_view what, mode_t mode, absl::string_view expected) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": is a ", FileTypeName(mode), ", expected a ", expected,
                   S_ISLNK(mode) ? " (snapshots never follow symbolic links)" : ""));
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status ErrnoError(int error, absl::string_view what, absl::string_view action) {
  // Not absl::ErrnoToStatus: it appends strerror to the message a second time.
  return absl::Status(
      absl::ErrnoToStatusCode(error),
      absl::StrCat(what, ": ", action, ": ", std::strerror(error), " (errno ", error, ")"));
}

std::string FileTypeName(mode_t mode) {
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISLNK(mode)) return "symbolic link";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  return "special file";
}

absl::StatusOr<std::optional<struct stat>> StatAtNoFollow(int dirfd, const std::string& name,
                                                          absl::string_view what) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return ErrnoError(errno, what, "stat");
  }
  return std::optional<struct stat>(st);
}

absl::StatusOr<UniqueFd> OpenDirectory(const std::string& path, absl::string_view what) {
  return OpenDirectoryAt(AT_FDCWD, path, what);
}

absl::StatusOr<UniqueFd> OpenDirectoryAt(int dirfd, const std::string& name,
                                         absl::string_view what) {
  const int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return UniqueFd(fd);
  const int error = errno;
  if (error == ELOOP || error == ENOTDIR) {
    // Say what it is instead of "Too many levels of symbolic links".
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      return WrongType(what, st.st_mode, "directory");
    }
  }
  return ErrnoError(error, what, "open directory");
}

absl::StatusOr<UniqueFd> OpenRegularFileAt(int dirfd, const std::string& name,
                                           absl::string_view what, struct stat* stat_out) {
  // Check the type before open(): opening a device can have side effects (tape rewind, tty).
  FLOWRT_ASSIGN_OR_RETURN(std::optional<struct stat> before, StatAtNoFollow(dirfd, name, what));
  if (!before.has_value()) return absl::NotFoundError(absl::StrCat(what, ": does not exist"));
  if (!S_ISREG(before->st_mode)) return WrongType(what, before->st_mode, "regular file");
  // O_NONBLOCK: should the entry be swapped for a FIFO after the check, open() cannot hang.
  const int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, what, "open");
  UniqueFd file(fd);
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return ErrnoError(errno, what, "fstat");
  if (!S_ISREG(st.st_mode)) return WrongType(what, st.st_mode, "regular file");
  if (stat_out != nullptr) *stat_out = st;
  return file;
}

absl::StatusOr<UniqueFd> CreateFileAt(int dirfd, const std::string& name, absl::string_view what) {
  const int fd =
      ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, what, "create");
  return UniqueFd(fd);
}

absl::Status WriteAll(int fd, const void* data, size_t size, absl::string_view what) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, std::min(size, kMaxIoCall));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, what, "write");
    }
    // write() returning 0 for a non-empty buffer makes no progress; treat it as a full disk.
    if (n == 0) return ErrnoError(ENOSPC, what, "write made no progress");
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ReadExactly(int fd, void* data, size_t size, absl::string_view what) {
  char* p = static_cast<char*>(data);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, p + done, std::min(size - done, kMaxIoCall));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, what, "read");
    }
    if (n == 0) {
      return absl::DataLossError(
          absl::StrCat(what, ": file ended after ", done, " of ", size, " expected bytes"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ExpectEndOfFile(int fd, absl::string_view what) {
  char byte;
  while (true) {
    const ssize_t n = ::read(fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, what, "read");
    if (n == 0) return absl::OkStatus();
    return absl::DataLossError(
        absl::StrCat(what, ": file is longer than expected (it grew while being read)"));
  }
}

absl::StatusOr<std::string> ReadSmallFileAt(int dirfd, const std::string& name, int64_t max_bytes,
                                            absl::string_view what) {
  struct stat st;
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd file, OpenRegularFileAt(dirfd, name, what, &st));
  if (st.st_size > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": is ", st.st_size, " bytes; at most ", max_bytes, " are accepted"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  FLOWRT_RETURN_IF_ERROR(ReadExactly(file.get(), text.data(), text.size(), what));
  FLOWRT_RETURN_IF_ERROR(ExpectEndOfFile(file.get(), what));
  return text;
}

absl::Status Fsync(int fd, absl::string_view what) {
  // No EINTR retry: after a failed fsync the dirty pages' state is unknown, so it is an error.
  if (::fsync(fd) != 0) return ErrnoError(errno, what, "fsync");
  return absl::OkStatus();
}

absl::Status StartWriteback(int fd, int64_t offset, int64_t bytes, absl::string_view what) {
  if (::sync_file_range(fd, offset, bytes, SYNC_FILE_RANGE_WRITE) == 0) return absl::OkStatus();
  const int error = errno;
  if (error == EINVAL || error == ENOSYS || error == ESPIPE || error == EOPNOTSUPP ||
      error == EINTR) {
    return absl::OkStatus();  // only a hint: the fsync that follows does the work
  }
  return ErrnoError(error, what, "start writeback");
}

FsyncPool::FsyncPool(int max_threads) : max_threads_(max_threads) {
  FLOWRT_CHECK_GE(max_threads, 1);
}

FsyncPool::~FsyncPool() {
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &FsyncPool::AllFinished));
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

bool FsyncPool::AllFinished() const { return finished_ == tasks_.size(); }

bool FsyncPool::WorkOrStop() const { return stopping_ || next_ < tasks_.size(); }

void FsyncPool::Add(int fd, std::string what) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back({.fd = fd, .what = std::move(what), .result = absl::OkStatus()});
  // One worker per waiting task, up to the limit: the point is that fsyncs wait side by side.
  if (tasks_.size() - next_ > static_cast<size_t>(idle_) &&
      static_cast<int>(workers_.size()) < max_threads_) {
    workers_.emplace_back([this] { Work(); });
  }
}

absl::Status FsyncPool::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &FsyncPool::AllFinished));
  absl::Status first_error;
  for (const Task& task : tasks_) {
    if (!task.result.ok()) {
      first_error = task.result;
      break;
    }
  }
  tasks_.clear();
  next_ = finished_ = 0;
  return first_error;
}

void FsyncPool::Work() {
  mu_.Lock();
  while (true) {
    ++idle_;
    mu_.Await(absl::Condition(this, &FsyncPool::WorkOrStop));
    --idle_;
    if (next_ == tasks_.size()) break;  // stopping, and nothing left to do
    const size_t index = next_++;
    const int fd = tasks_[index].fd;
    const std::string what = tasks_[index].what;  // tasks_ may reallocate while unlocked
    mu_.Unlock();
    absl::Status result = Fsync(fd, what);
    mu_.Lock();
    tasks_[index].result = std::move(result);
    ++finished_;
  }
  mu_.Unlock();
}

absl::Status Close(UniqueFd& fd, absl::string_view what) {
  // Never retry close() (the descriptor is gone even on EINTR on Linux).
  if (::close(fd.release()) != 0) return ErrnoError(errno, what, "close");
  return absl::OkStatus();
}

absl::Status FsyncDirectory(const std::string& path, absl::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, what, "open directory to fsync");
  UniqueFd dir(fd);
  FLOWRT_RETURN_IF_ERROR(Fsync(dir.get(), what));
  return Close(dir, what);
}

absl::StatusOr<std::vector<std::string>> ListDirectory(int dirfd, absl::string_view what) {
  // fdopendir takes ownership of the descriptor it is given, so hand it a duplicate.
  const int listing_fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (listing_fd < 0) return ErrnoError(errno, what, "dup");
  DIR* listing = ::fdopendir(listing_fd);
  if (listing == nullptr) {
    const int error = errno;
    ::close(listing_fd);
    return ErrnoError(error, what, "fdopendir");
  }
  ::rewinddir(listing);  // the duplicate shares the offset with dirfd
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(listing)) {
    const absl::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  const int error = errno;
  ::closedir(listing);
  if (error != 0) return ErrnoError(error, what, "readdir");
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status RemoveTreeAt(int dirfd, const std::string& name) {
  const std::string what = absl::StrCat("removing ", name);
  FLOWRT_ASSIGN_OR_RETURN(std::optional<struct stat> st, StatAtNoFollow(dirfd, name, what));
  if (!st.has_value()) return absl::OkStatus();
  if (!S_ISDIR(st->st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoError(errno, what, "unlink");
    }
    return absl::OkStatus();
  }
  {
    FLOWRT_ASSIGN_OR_RETURN(UniqueFd dir, OpenDirectoryAt(dirfd, name, what));
    FLOWRT_ASSIGN_OR_RETURN(std::vector<std::string> children, ListDirectory(dir.get(), what));
    absl::Status first_error;
    for (const std::string& child : children) first_error.Update(RemoveTreeAt(dir.get(), child));
    FLOWRT_RETURN_IF_ERROR(first_error);
  }
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoError(errno, what, "rmdir");
  }
  return absl::OkStatus();
}

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return absl::StrCat(dir, name);
  return absl::StrCat(dir, "/", name);
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status EnsureDirectory(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is a ", FileTypeName(st.st_mode), ", not a directory"));
  }
  // ENOTDIR: something above is not a directory; the recursion finds and names it.
  if (errno != ENOENT && errno != ENOTDIR) return ErrnoError(errno, path, "stat");
  const std::string parent = Dirname(path);
  if (parent != path) FLOWRT_RETURN_IF_ERROR(EnsureDirectory(parent));
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError(errno, path, "mkdir");
  }
  return FsyncDirectory(parent, parent);
}

absl::Status EnsureParentDirectory(const std::string& file_path) {
  return Prefixed(EnsureDirectory(Dirname(file_path)),
                  absl::StrCat("cannot write ", file_path, ": "));
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": exists and is a ", FileTypeName(st.st_mode), ", not a file"));
  }
  FLOWRT_RETURN_IF_ERROR(EnsureParentDirectory(path));
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::random_device random;
  const std::string temp =
      absl::StrCat(dir == "." ? "" : dir, ".", base, ".tmp-", ::getpid(), "-", random());
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, temp, "create");
  absl::Status status = WriteAll(fd.get(), bytes.data(), bytes.size(), temp);
  if (status.ok()) status = Fsync(fd.get(), temp);
  if (status.ok()) status = Close(fd, temp);
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(errno, path, "rename");
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  return FsyncDirectory(dir, dir);
}

absl::Status Prefixed(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

}  // namespace flow::checkpoint

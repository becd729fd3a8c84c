#include "checkpoint/snapshot_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "checkpoint/crc32c.h"
#include "checkpoint/file_io.h"
#include "checkpoint/variable_name.h"
#include "runtime/status.h"

namespace flow::checkpoint {
namespace {

// Read granularity: CRC'd while the chunk is still in cache; also the scratch buffer for verify.
constexpr int64_t kReadChunk = int64_t{8} << 20;

std::string VariableWhat(absl::string_view name, absl::string_view file) {
  return absl::StrCat("variable \"", absl::CHexEscape(name), "\": ", file);
}

std::string Describe(const Shape& shape, DataType dtype) {
  return absl::StrCat(shape.ToString(), " ", DataTypeName(dtype));
}

// A Tensor allocation CHECK-fails when memory runs out; refuse sizes that cannot fit instead
// (e.g. a sparse `out` whose apparent size matches a huge meta).
absl::Status CheckAllocatable(int64_t bytes, absl::string_view what) {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0 && bytes / page_size > pages) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": ", bytes, " bytes exceed this machine's physical memory"));
  }
  return absl::OkStatus();
}

}  // namespace

// Walks a snapshot once, recording every problem (or stopping at the first one).
class SnapshotScanner {
 public:
  SnapshotScanner(const std::string& path, bool allow_incomplete, bool stop_at_first)
      : path_(path), allow_incomplete_(allow_incomplete), stop_at_first_(stop_at_first) {}

  void Scan() {
    const std::string root_what = absl::StrCat("snapshot ", path_);
    absl::StatusOr<UniqueFd> root = OpenDirectory(path_, root_what);
    if (!root.ok()) return Problem(root.status());
    root_ = std::move(*root);
    absl::StatusOr<std::vector<std::string>> entries = ListDirectory(root_.get(), root_what);
    if (!entries.ok()) return Problem(entries.status());

    CheckSnapshotDone();
    std::vector<std::string> variable_dirs;
    for (const std::string& entry : *entries) {
      if (Done()) return;
      const std::string entry_path = JoinPath(path_, entry);
      absl::StatusOr<std::optional<struct stat>> st =
          StatAtNoFollow(root_.get(), entry, entry_path);
      if (!st.ok()) {
        Problem(st.status());
      } else if (!st->has_value()) {
        continue;  // vanished since listing; nothing to load
      } else if (S_ISDIR((*st)->st_mode)) {
        variable_dirs.push_back(entry);
      } else if (!S_ISREG((*st)->st_mode)) {
        Problem(absl::FailedPreconditionError(absl::StrCat(
            "snapshot ", path_, ": entry ", entry_path, " is a ", FileTypeName((*st)->st_mode),
            S_ISLNK((*st)->st_mode) ? "; snapshots never follow symbolic links"
                                    : "; a snapshot holds only directories and regular files")));
      }
      // Regular files at the root (snapshot_done, stray files) are not variables: skipped.
    }
    absl::flat_hash_map<std::string, std::string> by_folded_name;
    for (const std::string& name : variable_dirs) {
      if (Done()) return;
      const std::string dir_path = JoinPath(path_, name);
      const absl::Status name_ok = CheckVariableName(name);
      if (!name_ok.ok()) {
        Problem(Prefixed(name_ok, absl::StrCat("snapshot directory ", dir_path, ": ")));
        continue;
      }
      auto [it, inserted] = by_folded_name.emplace(absl::AsciiStrToLower(name), name);
      if (!inserted) {
        Problem(absl::InvalidArgumentError(
            absl::StrCat(VariableWhat(name, dir_path), ": differs only in case from variable \"",
                         it->second, "\" (one directory on case-insensitive file systems)")));
        continue;
      }
      ScanVariable(name);
    }
  }

  std::vector<absl::Status>& problems() { return problems_; }
  std::map<std::string, SnapshotVariable>& variables() { return variables_; }

 private:
  bool Done() const { return stop_at_first_ && !problems_.empty(); }
  void Problem(absl::Status status) { problems_.push_back(std::move(status)); }

  void CheckSnapshotDone() {
    const std::string done_path = JoinPath(path_, kSnapshotDoneFile);
    absl::StatusOr<std::optional<struct stat>> st =
        StatAtNoFollow(root_.get(), std::string(kSnapshotDoneFile), done_path);
    if (!st.ok()) return Problem(st.status());
    if (!st->has_value()) {
      if (!allow_incomplete_) {
        Problem(absl::FailedPreconditionError(absl::StrCat(
            "snapshot ", path_, " is incomplete: ", done_path,
            " is missing (the save was interrupted or never finished); loading it anyway needs "
            "GetOptions::allow_incomplete")));
      }
    } else if (!S_ISREG((*st)->st_mode)) {
      Problem(absl::FailedPreconditionError(absl::StrCat("snapshot ", path_, ": ", done_path,
                                                         " is a ", FileTypeName((*st)->st_mode),
                                                         ", expected an empty regular file")));
    }
  }

  void ScanVariable(const std::string& name) {
    const std::string dir_path = JoinPath(path_, name);
    const std::string dir_what = VariableWhat(name, dir_path);
    absl::StatusOr<UniqueFd> dir = OpenDirectoryAt(root_.get(), name, dir_what);
    if (!dir.ok()) return Problem(dir.status());
    absl::StatusOr<std::vector<std::string>> entries = ListDirectory(dir->get(), dir_what);
    if (!entries.ok()) return Problem(entries.status());
    const size_t problems_before = problems_.size();
    // Links are refused anywhere in a variable directory, even in files flowrt would not read.
    for (const std::string& entry : *entries) {
      const std::string what = VariableWhat(name, JoinPath(dir_path, entry));
      absl::StatusOr<std::optional<struct stat>> st = StatAtNoFollow(dir->get(), entry, what);
      if (!st.ok()) {
        Problem(st.status());
      } else if (st->has_value() && S_ISLNK((*st)->st_mode)) {
        Problem(absl::FailedPreconditionError(
            absl::StrCat(what, ": is a symbolic link; snapshots never follow symbolic links")));
      }
    }
    if (problems_.size() != problems_before) return;

    SnapshotVariable variable;
    variable.name_ = name;
    variable.directory_ = dir_path;
    const std::string out_what = VariableWhat(name, JoinPath(dir_path, "out"));
    absl::StatusOr<std::optional<struct stat>> out = StatAtNoFollow(dir->get(), "out", out_what);
    if (!out.ok()) return Problem(out.status());
    if (!out->has_value()) {
      return Problem(absl::NotFoundError(
          absl::StrCat(out_what, ": missing; every variable directory holds an `out` file")));
    }
    if (!S_ISREG((*out)->st_mode)) {
      return Problem(absl::FailedPreconditionError(absl::StrCat(
          out_what, ": is a ", FileTypeName((*out)->st_mode), ", expected a regular file")));
    }
    variable.file_size_ = (*out)->st_size;

    const std::string meta_path = JoinPath(dir_path, "meta");
    const std::string meta_what = VariableWhat(name, meta_path);
    absl::StatusOr<std::optional<struct stat>> meta_st =
        StatAtNoFollow(dir->get(), "meta", meta_what);
    if (!meta_st.ok()) return Problem(meta_st.status());
    if (meta_st->has_value()) {
      absl::StatusOr<std::string> text =
          ReadSmallFileAt(dir->get(), "meta", kMaxMetaFileBytes, meta_what);
      if (!text.ok()) return Problem(text.status());
      absl::StatusOr<VariableMeta> meta = ParseMetaFile(*text);
      if (!meta.ok()) return Problem(Prefixed(meta.status(), absl::StrCat(meta_what, ": ")));
      if (meta->num_bytes != variable.file_size_) {
        return Problem(absl::DataLossError(absl::StrCat(
            out_what, ": is ", variable.file_size_, " bytes, but ", meta_path, " says ",
            Describe(meta->shape, meta->dtype), " = ", meta->num_bytes, " bytes (",
            variable.file_size_ < meta->num_bytes ? "truncated" : "trailing data", ")")));
      }
      variable.meta_ = std::move(*meta);
    }

    const std::string sum_path = JoinPath(dir_path, kChecksumFile);
    const std::string sum_what = VariableWhat(name, sum_path);
    absl::StatusOr<std::optional<struct stat>> sum_st =
        StatAtNoFollow(dir->get(), std::string(kChecksumFile), sum_what);
    if (!sum_st.ok()) return Problem(sum_st.status());
    if (sum_st->has_value()) {
      absl::StatusOr<std::string> text =
          ReadSmallFileAt(dir->get(), std::string(kChecksumFile), kMaxChecksumFileBytes, sum_what);
      if (!text.ok()) return Problem(text.status());
      absl::StatusOr<OutChecksum> checksum = ParseChecksumFile(*text);
      if (!checksum.ok()) {
        return Problem(Prefixed(checksum.status(), absl::StrCat(sum_what, ": ")));
      }
      if (checksum->size != variable.file_size_) {
        return Problem(
            absl::DataLossError(absl::StrCat(out_what, ": is ", variable.file_size_, " bytes, but ",
                                             sum_path, " says ", checksum->size, " bytes")));
      }
      variable.checksum_ = *checksum;
    }
    variables_.emplace(name, std::move(variable));
  }

  const std::string path_;
  const bool allow_incomplete_;
  const bool stop_at_first_;
  UniqueFd root_;
  std::vector<absl::Status> problems_;
  std::map<std::string, SnapshotVariable> variables_;
};

const Shape& SnapshotVariable::shape() const {
  FLOWRT_CHECK(meta_.has_value()) << "variable " << name_ << " has no meta";
  return meta_->shape;
}

DataType SnapshotVariable::dtype() const {
  FLOWRT_CHECK(meta_.has_value()) << "variable " << name_ << " has no meta";
  return meta_->dtype;
}

std::string SnapshotVariable::OutWhat() const {
  return VariableWhat(name_, JoinPath(directory_, "out"));
}

absl::StatusOr<UniqueFd> SnapshotVariable::OpenOut(int64_t expected_bytes) const {
  const std::string what = OutWhat();
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd dir, OpenDirectory(directory_, VariableWhat(name_, directory_)));
  struct stat st;
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd out, OpenRegularFileAt(dir.get(), "out", what, &st));
  if (st.st_size != expected_bytes) {
    return absl::DataLossError(
        absl::StrCat(what, ": is ", st.st_size, " bytes, expected ", expected_bytes,
                     st.st_size != file_size_ ? " (changed since listed)" : ""));
  }
  return out;
}

absl::Status SnapshotVariable::StreamOut(int fd, void* dst, int64_t bytes) const {
  const std::string what = OutWhat();
  std::vector<char> scratch;
  if (dst == nullptr) scratch.resize(static_cast<size_t>(std::min(bytes, kReadChunk)));
  uint32_t crc = 0;
  for (int64_t done = 0; done < bytes;) {
    const int64_t n = std::min(kReadChunk, bytes - done);
    char* chunk = dst != nullptr ? static_cast<char*>(dst) + done : scratch.data();
    FLOWRT_RETURN_IF_ERROR(ReadExactly(fd, chunk, static_cast<size_t>(n), what));
    if (checksum_.has_value()) crc = Crc32cExtend(crc, chunk, static_cast<size_t>(n));
    done += n;
  }
  FLOWRT_RETURN_IF_ERROR(ExpectEndOfFile(fd, what));
  if (checksum_.has_value() && crc != checksum_->crc32c) {
    return absl::DataLossError(absl::StrFormat(
        "%s: CRC32C mismatch: the data has %08x, %s says %08x (the file is corrupt)", what, crc,
        JoinPath(directory_, kChecksumFile), checksum_->crc32c));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tensor> SnapshotVariable::Read() const {
  if (!meta_.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        VariableWhat(name_, JoinPath(directory_, "meta")),
        ": missing (a OneFlow <= 0.3.1 snapshot), so shape and dtype are unknown; use ReadInto "
        "with a destination tensor"));
  }
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd out, OpenOut(meta_->num_bytes));
  FLOWRT_RETURN_IF_ERROR(CheckAllocatable(meta_->num_bytes, OutWhat()));
  Tensor tensor(meta_->shape, meta_->dtype);
  FLOWRT_RETURN_IF_ERROR(StreamOut(out.get(), tensor.raw_data(), meta_->num_bytes));
  return tensor;
}

absl::Status SnapshotVariable::ReadInto(Tensor* dst) const {
  if (dst == nullptr || !dst->defined() || ItemSize(dst->dtype()) == 0 ||
      (dst->num_bytes() > 0 && dst->raw_data() == nullptr)) {
    return absl::InvalidArgumentError(
        absl::StrCat(OutWhat(), ": ReadInto needs a defined destination tensor with a buffer"));
  }
  if (meta_.has_value()) {
    if (meta_->shape != dst->shape() || meta_->dtype != dst->dtype()) {
      return absl::InvalidArgumentError(
          absl::StrCat(VariableWhat(name_, JoinPath(directory_, "meta")), ": snapshot holds ",
                       Describe(meta_->shape, meta_->dtype), " but the destination is ",
                       Describe(dst->shape(), dst->dtype())));
    }
  } else if (file_size_ != dst->num_bytes()) {
    return absl::InvalidArgumentError(
        absl::StrCat(OutWhat(), ": is ", file_size_, " bytes (no meta), but the destination ",
                     Describe(dst->shape(), dst->dtype()), " needs ", dst->num_bytes(), " bytes"));
  }
  FLOWRT_ASSIGN_OR_RETURN(UniqueFd out, OpenOut(dst->num_bytes()));
  return StreamOut(out.get(), dst->raw_data(), dst->num_bytes());
}

absl::StatusOr<std::map<std::string, SnapshotVariable>> GetSnapshot(const std::string& path,
                                                                    const GetOptions& options) {
  SnapshotScanner scanner(path, options.allow_incomplete, /*stop_at_first=*/true);
  scanner.Scan();
  if (!scanner.problems().empty()) return scanner.problems().front();
  return std::move(scanner.variables());
}

absl::Status VerifySnapshot(const std::string& path) {
  SnapshotScanner scanner(path, /*allow_incomplete=*/false, /*stop_at_first=*/false);
  scanner.Scan();
  std::vector<absl::Status>& problems = scanner.problems();
  for (const auto& [name, variable] : scanner.variables()) {
    absl::StatusOr<UniqueFd> out = variable.OpenOut(variable.file_size());
    absl::Status status = out.status();
    if (out.ok()) status = variable.StreamOut(out->get(), nullptr, variable.file_size());
    if (!status.ok()) problems.push_back(std::move(status));
  }
  if (problems.empty()) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const absl::Status& problem : problems) lines.emplace_back(problem.message());
  return absl::Status(problems.front().code(),
                      absl::StrCat("snapshot ", path, " failed verification with ", problems.size(),
                                   " problem(s):\n  ", absl::StrJoin(lines, "\n  ")));
}

}  // namespace flow::checkpoint

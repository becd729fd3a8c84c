#include "report/metrics.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "checkpoint/file_io.h"
#include "runtime/status.h"

namespace flow::jobs {

absl::StatusOr<MetricsWriter> MetricsWriter::Open(const std::string& path, bool append) {
  FLOWRT_RETURN_IF_ERROR(checkpoint::EnsureParentDirectory(path));
  std::error_code ec;
  const bool continue_file = append && std::filesystem::file_size(path, ec) > 0 && !ec;
  std::FILE* file = std::fopen(path.c_str(), continue_file ? "a" : "w");
  if (file == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write metrics to ", path, ": ", std::strerror(errno)));
  }
  if (!continue_file) {
    std::fprintf(file, "%s\n", kMetricsHeader);
    std::fflush(file);
  }
  return MetricsWriter(file, path);
}

MetricsWriter::MetricsWriter(MetricsWriter&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)), path_(std::move(other.path_)) {}

MetricsWriter& MetricsWriter::operator=(MetricsWriter&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) std::fclose(file_);
    file_ = std::exchange(other.file_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

MetricsWriter::~MetricsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status MetricsWriter::Row(const MetricsRow& row) {
  char accuracy[32] = "";
  if (row.test_accuracy >= 0) std::snprintf(accuracy, sizeof(accuracy), "%.4f", row.test_accuracy);
  if (std::fprintf(file_, "%lld,%lld,%.6f,%g,%.1f,%s\n", static_cast<long long>(row.step),
                   static_cast<long long>(row.epoch), row.loss, row.lr, row.images_per_second,
                   accuracy) < 0 ||
      std::fflush(file_) != 0) {
    return absl::DataLossError(absl::StrCat("writing ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string DefaultMetricsPath(const std::string& save, const std::string& snapshot_root) {
  auto beside = [](std::string dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir + ".metrics.csv";
  };
  if (!save.empty()) return beside(save);
  if (!snapshot_root.empty()) return beside(snapshot_root);
  return "";  // no snapshot to go with: a run that saves nothing leaves no file behind
}

}  // namespace flow::jobs

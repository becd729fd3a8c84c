// metrics.csv: one row per logged training step, for `flowrt plot` and spreadsheets.
//
//   FLOWRT_ASSIGN_OR_RETURN(MetricsWriter metrics, MetricsWriter::Open("run.metrics.csv", false));
//   FLOWRT_RETURN_IF_ERROR(metrics.Row({.step = 20, .epoch = 1, .loss = 0.52, .lr = 0.1,
//                                .images_per_second = 3900}));
//
// Columns: step,epoch,loss,lr,images_per_second,test_accuracy. test_accuracy is empty unless the
// row is an epoch end that was evaluated. Each row is flushed as it is written, so a crashed run
// keeps its curve. `append` continues an existing file (a resumed run) without a second header.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"

namespace flow::jobs {

inline constexpr char kMetricsHeader[] = "step,epoch,loss,lr,images_per_second,test_accuracy";

struct MetricsRow {
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
  double lr = 0;
  double images_per_second = 0;
  double test_accuracy = -1;  // < 0: not evaluated, written as an empty field
};

class MetricsWriter {
 public:
  static absl::StatusOr<MetricsWriter> Open(const std::string& path, bool append);
  MetricsWriter(MetricsWriter&& other) noexcept;
  MetricsWriter& operator=(MetricsWriter&& other) noexcept;
  ~MetricsWriter();

  absl::Status Row(const MetricsRow& row);
  const std::string& path() const { return path_; }

 private:
  MetricsWriter(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::FILE* file_ = nullptr;
  std::string path_;
};

// Where a run's metrics go when --metrics is not given: beside its snapshots, named after them
// (`<save>.metrics.csv`, else `<snapshot_root>.metrics.csv`); "" (none) for a run that saves
// nothing, so that it leaves no stray metrics.csv in the current directory.
std::string DefaultMetricsPath(const std::string& save, const std::string& snapshot_root);

}  // namespace flow::jobs

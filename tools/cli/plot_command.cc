// flowrt plot metrics.csv [more.csv ...] -o curves.png: training loss (and test accuracy when a
// run was evaluated) against the train step, one line per run, labelled by file name. Writes a
// gnuplot script (inline data, so the chart does not depend on the CSVs staying put) and runs
// gnuplot (Debian: gnuplot-nox, installed by tools/setup.sh). --script=FILE keeps the script.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "checkpoint/file_io.h"
#include "tools/cli/commands.h"

ABSL_FLAG(std::string, o, "curves.png", "flowrt plot: the PNG to write");
ABSL_FLAG(std::string, script, "", "flowrt plot: also keep the gnuplot script in this file");

namespace flow::cli {
namespace {

struct Run {
  std::string label;
  std::vector<std::pair<double, double>> loss;      // (step, loss)
  std::vector<std::pair<double, double>> accuracy;  // (step, test accuracy)
};

absl::StatusOr<Run> ReadMetrics(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string line;
  if (!std::getline(in, line)) return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  std::map<std::string, int> column;
  int index = 0;
  for (absl::string_view name : absl::StrSplit(line, ',')) column[std::string(name)] = index++;
  if (!column.count("step") || !column.count("loss")) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a flowrt metrics file (its header lacks step and loss): ", line));
  }
  const int step_col = column["step"], loss_col = column["loss"];
  const int acc_col = column.count("test_accuracy") ? column["test_accuracy"] : -1;
  Run run;
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    if (line.rfind("step,", 0) == 0) continue;  // a header repeated by an appending run
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    double step, value;
    if (static_cast<int>(fields.size()) <= std::max(step_col, loss_col) ||
        !absl::SimpleAtod(fields[step_col], &step) || !absl::SimpleAtod(fields[loss_col], &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": cannot read step and loss from '", line, "'"));
    }
    run.loss.emplace_back(step, value);
    if (acc_col >= 0 && acc_col < static_cast<int>(fields.size()) && !fields[acc_col].empty() &&
        absl::SimpleAtod(fields[acc_col], &value)) {
      run.accuracy.emplace_back(step, value);
    }
  }
  if (run.loss.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " has no rows"));
  return run;
}

std::string Quote(const std::string& s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "''"}}), "'");
}

void DataBlock(std::ostringstream& script, const std::string& name,
               const std::vector<std::pair<double, double>>& points) {
  script << "$" << name << " << EOD\n";
  for (const auto& [x, y] : points) script << absl::StrFormat("%.17g %.17g\n", x, y);
  script << "EOD\n";
}

// `runs` is not empty and each has a loss row (ReadMetrics refuses a file without).
std::string Script(const std::vector<Run>& runs, const std::string& output) {
  bool any_accuracy = false, positive_loss = true;
  double max_step = 1, min_loss = runs[0].loss[0].second, max_loss = min_loss;
  for (const Run& run : runs) {
    any_accuracy |= !run.accuracy.empty();
    for (const auto& point : run.loss) {
      positive_loss &= point.second > 0;
      max_step = std::max(max_step, point.first);
      min_loss = std::min(min_loss, point.second);
      max_loss = std::max(max_loss, point.second);
    }
  }
  std::ostringstream s;
  for (size_t i = 0; i < runs.size(); ++i) {
    DataBlock(s, absl::StrCat("loss", i), runs[i].loss);
    if (!runs[i].accuracy.empty()) DataBlock(s, absl::StrCat("acc", i), runs[i].accuracy);
  }
  s << "set terminal pngcairo noenhanced size " << (any_accuracy ? "1400,560" : "900,560")
    << " font 'sans,11' linewidth 1.5\n"
    << "set output " << Quote(output) << "\n"
    << "set grid lc rgb '#c8c8c8' dt 3\n"
    << "set border 3\nset tics nomirror\n"
    << "set key top right box opaque\n"
    << "set xlabel 'train step'\n"
    << "set xrange [0:" << max_step << "]\n"  // both panels share the step axis
    << "set format y '%g'\n";
  if (any_accuracy) s << "set multiplot layout 1,2\n";
  s << "set title 'training loss'\n"
    << "set ylabel 'loss (mean of a batch)'\n";
  if (positive_loss) {
    // Log scale, fitted to the data, with 1-2-5 labels so a short range still has several.
    s << "set logscale y\n";
    if (min_loss == max_loss) {  // a single value (one row): a range around it, not an empty one
      s << "set yrange [" << min_loss / 2 << ":" << max_loss * 2 << "]\n";
    } else {
      s << "set autoscale yfix\nset offsets 0, 0, graph 0.04, graph 0.04\n";
    }
    s << "set ytics (";
    bool first = true;
    for (double decade = 1e-4; decade < 1e3; decade *= 10) {
      for (double m : {1.0, 2.0, 5.0}) {
        s << (first ? "" : ", ") << m * decade;
        first = false;
      }
    }
    s << ")\n";
  }
  s << "plot ";
  for (size_t i = 0; i < runs.size(); ++i) {
    // A lone row (a run stopped at its first log line) has no line to draw: mark the point.
    s << (i ? ", \\\n     " : "") << "$loss" << i << " using 1:2 with "
      << (runs[i].loss.size() == 1 ? "points pt 7 ps 1" : "lines lw 1.5") << " lc " << i + 1
      << " title " << Quote(runs[i].label);
  }
  s << "\n";
  if (any_accuracy) {
    s << "unset logscale y\nset autoscale y\nset ytics autofreq\n"
      << "set offsets 0, 0, graph 0.05, graph 0.05\n"
      << "set key bottom right\n"
      << "set title 'test accuracy'\n"
      << "set ylabel 'accuracy'\n"
      << "plot ";
    bool first = true;
    for (size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].accuracy.empty()) continue;
      s << (first ? "" : ", \\\n     ") << "$acc" << i
        << " using 1:2 with linespoints lw 1.5 pt 7 ps 1 lc " << i + 1 << " title "
        << Quote(runs[i].label);
      first = false;
    }
    s << "\nunset multiplot\n";
  }
  return s.str();
}

}  // namespace

int RunPlot(const std::vector<std::string>& args) {
  if (args.empty()) {
    return Fail("plot", absl::InvalidArgumentError(
                            "usage: flowrt plot metrics.csv [more.csv ...] -o curves.png"));
  }
  const std::string output = absl::GetFlag(FLAGS_o);
  std::vector<Run> runs;
  std::map<std::string, int> basename_count;
  for (const std::string& path : args) {
    ++basename_count[std::filesystem::path(path).filename().string()];
  }
  for (const std::string& path : args) {
    absl::StatusOr<Run> run = ReadMetrics(path);
    if (!run.ok()) return Fail("plot", run.status());
    const std::string base = std::filesystem::path(path).filename().string();
    std::string label = basename_count[base] > 1 ? path : base;
    for (const char* suffix : {".metrics.csv", ".csv"}) {  // runs/lenet-1.metrics.csv: lenet-1
      if (absl::EndsWith(label, suffix) && label.size() > strlen(suffix)) {
        label.resize(label.size() - strlen(suffix));
        break;
      }
    }
    run->label = label;
    runs.push_back(*std::move(run));
  }
  for (const std::string& file : {output, absl::GetFlag(FLAGS_script)}) {
    if (file.empty()) continue;
    absl::Status made = checkpoint::EnsureParentDirectory(file);
    if (!made.ok()) return Fail("plot", made);
  }
  const std::string script = Script(runs, output);
  if (const std::string keep = absl::GetFlag(FLAGS_script); !keep.empty()) {
    std::ofstream(keep) << script;
  }
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    return Fail("plot", absl::FailedPreconditionError(
                            "gnuplot not found: apt-get install gnuplot-nox (or bash "
                            "tools/setup.sh)"));
  }
  FILE* gnuplot = popen("gnuplot", "w");
  if (gnuplot == nullptr) return Fail("plot", absl::InternalError("cannot run gnuplot"));
  std::fwrite(script.data(), 1, script.size(), gnuplot);
  const int status = pclose(gnuplot);
  std::error_code ec;
  if (status != 0 || std::filesystem::file_size(output, ec) == 0 || ec) {
    return Fail("plot", absl::InternalError(absl::StrCat(
                            "gnuplot failed to write ", output,
                            " (rerun with --script=FILE and 'gnuplot FILE' to see why)")));
  }
  std::cout << "wrote " << output << " (" << runs.size() << (runs.size() == 1 ? " run" : " runs")
            << ")\n";
  return 0;
}

}  // namespace flow::cli

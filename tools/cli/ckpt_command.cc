// flowrt ckpt: a snapshot as easy to read as a text file.
//   flowrt ckpt inspect SNAPSHOT [--stats] [--json]   name, shape, dtype, bytes (+ statistics)
//   flowrt ckpt verify SNAPSHOT                        every check of the reader; exit 0 if sound
//   flowrt ckpt diff A B                               names only in A / B, shape changes, max
//   |a−b|
#include <cmath>
#include <iostream>
#include <limits>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/checkpoint.h"
#include "tools/cli/commands.h"

ABSL_FLAG(bool, stats, false, "ckpt inspect: min/max/mean/std and NaN/Inf counts per variable");
ABSL_FLAG(bool, json, false, "ckpt inspect: print JSON instead of a table");
ABSL_FLAG(bool, allow_incomplete, false,
          "ckpt: read a snapshot without snapshot_done (an interrupted save)");

namespace flow::cli {
namespace {

struct Stats {
  double min = 0, max = 0, mean = 0, std = 0;
  int64_t nan = 0, inf = 0;
};

Stats ComputeStats(const Tensor& t) {
  Stats s;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  double sum = 0, sum_sq = 0;
  int64_t finite = 0;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const double v = t.ElementAsDouble(i);
    if (std::isnan(v)) {
      ++s.nan;
      continue;
    }
    if (std::isinf(v)) {
      ++s.inf;
      continue;
    }
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    sum += v;
    sum_sq += v * v;
    ++finite;
  }
  if (finite == 0) return Stats{0, 0, 0, 0, s.nan, s.inf};
  s.mean = sum / finite;
  s.std = std::sqrt(std::max(0.0, sum_sq / finite - s.mean * s.mean));
  return s;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
      continue;
    }
    out += c;
  }
  return out + "\"";
}

absl::StatusOr<checkpoint::Snapshot> Open(const std::string& path) {
  return checkpoint::get(path, {.allow_incomplete = absl::GetFlag(FLAGS_allow_incomplete)});
}

int Inspect(const std::string& path) {
  absl::StatusOr<checkpoint::Snapshot> snapshot = Open(path);
  if (!snapshot.ok()) return Fail("ckpt inspect", snapshot.status());
  const bool stats = absl::GetFlag(FLAGS_stats), json = absl::GetFlag(FLAGS_json);
  int64_t total = 0;
  if (json) std::cout << "{\"snapshot\": " << JsonString(path) << ", \"variables\": [";
  bool first = true;
  for (const auto& [name, var] : *snapshot) {
    total += var.file_size();
    const std::string shape = var.has_meta() ? var.shape().ToString() : "?";
    const std::string dtype = var.has_meta() ? std::string(DataTypeName(var.dtype())) : "?";
    std::optional<Stats> s;
    if (stats && var.has_meta() && var.dtype() != DataType::kFloat16) {
      absl::StatusOr<Tensor> value = var.Read();
      if (!value.ok()) return Fail("ckpt inspect", value.status());
      s = ComputeStats(*value);
    }
    if (json) {
      std::cout << (first ? "" : ", ") << "{\"name\": " << JsonString(name);
      if (var.has_meta()) {
        std::cout << ", \"shape\": [";
        for (int i = 0; i < var.shape().rank(); ++i) std::cout << (i ? ", " : "") << var.shape()[i];
        std::cout << "], \"dtype\": " << JsonString(dtype);
      }
      std::cout << ", \"bytes\": " << var.file_size()
                << ", \"crc32c\": " << (var.has_checksum() ? "true" : "false");
      if (s) {
        std::cout << absl::StrFormat(
            ", \"min\": %.9g, \"max\": %.9g, \"mean\": %.9g, \"std\": %.9g, \"nan\": %d, "
            "\"inf\": %d",
            s->min, s->max, s->mean, s->std, s->nan, s->inf);
      }
      std::cout << "}";
      first = false;
      continue;
    }
    std::cout << absl::StrFormat("%-40s %-18s %-8s %12d", name, shape, dtype, var.file_size());
    if (s) {
      std::cout << absl::StrFormat("  min %-12.6g max %-12.6g mean %-12.6g std %-12.6g", s->min,
                                   s->max, s->mean, s->std);
      if (s->nan || s->inf) std::cout << absl::StrFormat("  NaN %d Inf %d", s->nan, s->inf);
    }
    std::cout << "\n";
  }
  if (json) {
    std::cout << "], \"total_bytes\": " << total << "}\n";
  } else {
    std::cout << absl::StrFormat("%d variables, %d bytes\n", snapshot->size(), total);
  }
  return 0;
}

int Verify(const std::string& path) {
  absl::Status status = checkpoint::VerifySnapshot(path);
  if (!status.ok()) return Fail("ckpt verify", status);
  absl::StatusOr<checkpoint::Snapshot> snapshot = Open(path);
  if (!snapshot.ok()) return Fail("ckpt verify", snapshot.status());
  std::cout << "OK: " << path << ": " << snapshot->size() << " variables verified\n";
  return 0;
}

int Diff(const std::string& a_path, const std::string& b_path) {
  absl::StatusOr<checkpoint::Snapshot> a = Open(a_path);
  if (!a.ok()) return Fail("ckpt diff", a.status());
  absl::StatusOr<checkpoint::Snapshot> b = Open(b_path);
  if (!b.ok()) return Fail("ckpt diff", b.status());
  int differences = 0;
  for (const auto& [name, var] : *a) {
    if (!b->contains(name)) {
      std::cout << "only in A: " << name << "\n";
      ++differences;
    }
  }
  for (const auto& [name, var] : *b) {
    if (!a->contains(name)) {
      std::cout << "only in B: " << name << "\n";
      ++differences;
    }
  }
  for (const auto& [name, va] : *a) {
    auto it = b->find(name);
    if (it == b->end()) continue;
    const checkpoint::SnapshotVariable& vb = it->second;
    if (!va.has_meta() || !vb.has_meta()) {
      if (va.file_size() != vb.file_size()) {
        std::cout << "changed size: " << name << " " << va.file_size() << " -> " << vb.file_size()
                  << " bytes\n";
        ++differences;
      }
      continue;
    }
    if (va.shape() != vb.shape() || va.dtype() != vb.dtype()) {
      std::cout << "changed shape: " << name << " " << va.shape().ToString() << " "
                << DataTypeName(va.dtype()) << " -> " << vb.shape().ToString() << " "
                << DataTypeName(vb.dtype()) << "\n";
      ++differences;
      continue;
    }
    if (va.dtype() == DataType::kFloat16) continue;
    absl::StatusOr<Tensor> ta = va.Read();
    if (!ta.ok()) return Fail("ckpt diff", ta.status());
    absl::StatusOr<Tensor> tb = vb.Read();
    if (!tb.ok()) return Fail("ckpt diff", tb.status());
    double max_abs = 0;
    for (int64_t i = 0; i < ta->num_elements(); ++i) {
      max_abs = std::max(max_abs, std::abs(ta->ElementAsDouble(i) - tb->ElementAsDouble(i)));
    }
    if (max_abs > 0) {
      std::cout << absl::StrFormat("changed values: %s max |a-b| = %.9g\n", name, max_abs);
      ++differences;
    }
  }
  std::cout << (differences == 0 ? "identical\n" : absl::StrCat(differences, " differences\n"));
  return differences == 0 ? 0 : 1;
}

}  // namespace

int RunCkpt(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: flowrt ckpt inspect SNAPSHOT [--stats] [--json] | verify SNAPSHOT | diff A B | "
      "export SNAPSHOT --npz=FILE | export SNAPSHOT --job=... --onnx=FILE | "
      "import FILE.npz SNAPSHOT";
  if (args.empty()) return Fail("ckpt", absl::InvalidArgumentError(usage));
  if (args[0] == "inspect" && args.size() == 2) return Inspect(args[1]);
  if (args[0] == "verify" && args.size() == 2) return Verify(args[1]);
  if (args[0] == "diff" && args.size() == 3) return Diff(args[1], args[2]);
  if (args[0] == "export" && OnnxExportRequested()) {
    return RunCkptExportOnnx({args.begin() + 1, args.end()});
  }
  if (args[0] == "export") return RunCkptExport({args.begin() + 1, args.end()});
  if (args[0] == "import") return RunCkptImport({args.begin() + 1, args.end()});
  return Fail("ckpt", absl::InvalidArgumentError(usage));
}

}  // namespace flow::cli

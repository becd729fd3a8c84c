// Checkpoint throughput benchmark (not a timed test): raw write+fsync bandwidth, SaveSnapshot,
// and GetSnapshot+Read with a warm and a cold page cache, plus the RSS growth during a save.
// tools/bench/checkpoint_bench.py runs it next to torch.save/torch.load and prints the table.
//
//   checkpoint_bench --mode=save --dir=/work/bench_tmp --mb=100   # raw write, then SaveSnapshot
//   checkpoint_bench --mode=load_warm --dir=/work/bench_tmp --mb=100 [--check]
//   checkpoint_bench --mode=load_cold --dir=/work/bench_tmp --mb=100
//
// Each mode is meant to be its own process (a resuming run loads into fresh memory). Prints one
// JSON object per line: {"kind": "shapes", ...} then {"kind": "raw_write" | "save" | "load_warm" |
// "load_cold", "bytes": N, "seconds": S, "mb_per_s": R, ...}; --check compares what was loaded
// with the model (after timing).
// The model is 8 float32 matrices of (mb*32, 1024) plus 8 float32 vectors of 1024 (a dict of
// tensors like a real model's), filled with pseudo-random bits. "Cold" evicts the files from the
// page cache with posix_fadvise(POSIX_FADV_DONTNEED) after they are fsynced (no privileges
// needed; pages of a clean file are dropped). Raw write uses the same fsync policy as a save: the
// data written in 8 MiB write() calls, then one fsync, then close ("raw_write", the issue's
// baseline: one file of the model's size); "raw_write_srf" is the same with each chunk's
// writeback started right after its write (sync_file_range, as the save does: the disk's best
// case for one stream); "raw_write_files" writes the same bytes as one file per tensor, each
// fsynced, then the directory.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "checkpoint/snapshot_reader.h"
#include "checkpoint/snapshot_writer.h"
#include "runtime/tensor.h"

namespace {

using Variables = std::vector<std::pair<std::string, flow::Tensor>>;

// CPU seconds (user + system) of this process so far, all threads (the save's fsync threads too).
double CpuSeconds() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "checkpoint_bench: %s\n", message.c_str());
  std::exit(1);
}

// kB value of a /proc/self/status field (VmRSS, VmHWM).
int64_t StatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtoll(line.c_str() + field.size() + 1, 0, 10);
  }
  return -1;
}

// kB value of a /proc/self/smaps_rollup field (AnonHugePages).
int64_t SmapsRollupKb(const std::string& field) {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtoll(line.c_str() + field.size() + 1, 0, 10);
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so VmHWM afterwards is the peak of what follows.
void ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

Variables MakeModel(int64_t mb) {
  Variables vars;
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto fill = [&](flow::Tensor& t) {
    auto* words = static_cast<uint32_t*>(t.raw_data());
    for (int64_t i = 0; i < t.num_bytes() / 4; ++i) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      // Finite floats in [-2, 2): keep exponent bits sane so the data look like weights.
      words[i] = static_cast<uint32_t>(state >> 32) & 0xbfffffffu;
    }
  };
  for (int i = 0; i < 8; ++i) {
    flow::Tensor w(flow::Shape({mb * 32, 1024}), flow::kFloat);
    fill(w);
    vars.emplace_back(absl::StrCat("layer", i, "-weight"), w);
    flow::Tensor b(flow::Shape({1024}), flow::kFloat);
    fill(b);
    vars.emplace_back(absl::StrCat("layer", i, "-bias"), b);
  }
  return vars;
}

int64_t TotalBytes(const Variables& vars) {
  int64_t total = 0;
  for (const auto& [name, t] : vars) total += t.num_bytes();
  return total;
}

void Evict(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + path + " to evict: " + std::strerror(errno));
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

void EvictTree(const std::string& root) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) Evict(entry.path());
  }
}

// write() of every tensor's bytes in 8 MiB calls into one file, fsync, close: what a save's `out`
// files cost at best, with the same fsync policy. With `start_writeback`, each chunk's writeback
// is started as soon as it is written (sync_file_range(SYNC_FILE_RANGE_WRITE)).
double RawWrite(const std::string& path, const Variables& vars, bool start_writeback) {
  constexpr size_t kChunk = size_t{8} << 20;
  const double start = Now();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("create " + path + ": " + std::strerror(errno));
  int64_t offset = 0;
  for (const auto& [name, t] : vars) {
    const char* p = static_cast<const char*>(t.raw_data());
    for (int64_t done = 0; done < t.num_bytes();) {
      const size_t n = std::min<int64_t>(kChunk, t.num_bytes() - done);
      const ssize_t w = ::write(fd, p + done, n);
      if (w <= 0) Die("write " + path + ": " + std::strerror(errno));
      if (start_writeback && ::sync_file_range(fd, offset, w, SYNC_FILE_RANGE_WRITE) != 0) {
        Die("sync_file_range " + path + ": " + std::strerror(errno));
      }
      done += w;
      offset += w;
    }
  }
  if (::fsync(fd) != 0) Die("fsync " + path);
  if (::close(fd) != 0) Die("close " + path);
  return Now() - start;
}

// The same bytes as a save's `out` files, with the same fsync policy as the save (each file
// written in 8 MiB calls, fsynced, closed; then the directory fsynced), and nothing else: no CRC,
// no meta, no temp dir or rename.
double RawWriteFiles(const std::string& dir, const Variables& vars) {
  constexpr size_t kChunk = size_t{8} << 20;
  const double start = Now();
  std::filesystem::create_directory(dir);
  for (const auto& [name, t] : vars) {
    const std::string path = dir + "/" + name;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("create " + path + ": " + std::strerror(errno));
    const char* p = static_cast<const char*>(t.raw_data());
    for (int64_t done = 0; done < t.num_bytes();) {
      const size_t n = std::min<int64_t>(kChunk, t.num_bytes() - done);
      const ssize_t w = ::write(fd, p + done, n);
      if (w <= 0) Die("write " + path + ": " + std::strerror(errno));
      done += w;
    }
    if (::fsync(fd) != 0) Die("fsync " + path);
    if (::close(fd) != 0) Die("close " + path);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) Die("fsync " + dir);
  ::close(dfd);
  return Now() - start;
}

// GetSnapshot + Read of every variable (allocating, as flow::load_variables stages them).
std::pair<double, std::map<std::string, flow::Tensor>> Load(const std::string& path) {
  const double start = Now();
  auto snapshot = flow::checkpoint::GetSnapshot(path);
  if (!snapshot.ok()) Die(snapshot.status().ToString());
  std::map<std::string, flow::Tensor> loaded;
  for (const auto& [name, variable] : *snapshot) {
    auto t = variable.Read();
    if (!t.ok()) Die(t.status().ToString());
    loaded.emplace(name, std::move(*t));
  }
  return {Now() - start, std::move(loaded)};
}

void Print(const std::string& kind, int64_t bytes, double seconds, const std::string& extra = "") {
  std::printf("{\"kind\": \"%s\", \"bytes\": %lld, \"seconds\": %.6f, \"mb_per_s\": %.1f%s}\n",
              kind.c_str(), static_cast<long long>(bytes), seconds, bytes / seconds / 1e6,
              extra.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/flowrt_checkpoint_bench";
  std::string mode;
  int64_t mb = 100;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const std::string& flag) -> const char* {
      return arg.rfind(flag + "=", 0) == 0 ? arg.c_str() + flag.size() + 1 : nullptr;
    };
    if (const char* v = value("--dir")) {
      dir = v;
    } else if (const char* v = value("--mode")) {
      mode = v;
    } else if (const char* v = value("--mb")) {
      if (!absl::SimpleAtoi(v, &mb) || mb <= 0) Die("bad --mb");
    } else if (arg == "--check") {
      check = true;
    } else {
      Die("usage: checkpoint_bench --mode=save|load_warm|load_cold [--dir=DIR] [--mb=100] "
          "[--check]");
    }
  }
  std::filesystem::create_directories(dir);
  const std::string snap = dir + "/flowrt_snapshot";

  if (mode == "save") {
    const Variables vars = MakeModel(mb);
    const int64_t bytes = TotalBytes(vars);
    std::vector<std::string> shapes;
    for (const auto& [name, t] : vars) {
      shapes.push_back(
          absl::StrCat("[\"", name, "\", [", absl::StrJoin(t.shape().dims(), ", "), "]]"));
    }
    std::printf("{\"kind\": \"shapes\", \"bytes\": %lld, \"shapes\": [%s]}\n",
                static_cast<long long>(bytes), absl::StrJoin(shapes, ", ").c_str());
    const std::string raw = dir + "/raw.bin";
    const double raw_seconds = RawWrite(raw, vars, /*start_writeback=*/false);
    std::filesystem::remove(raw);
    Print("raw_write", bytes, raw_seconds);
    const double raw_srf_seconds = RawWrite(raw, vars, /*start_writeback=*/true);
    std::filesystem::remove(raw);
    Print("raw_write_srf", bytes, raw_srf_seconds);
    const std::string raw_dir = dir + "/raw_files";
    const double raw_files_seconds = RawWriteFiles(raw_dir, vars);
    std::filesystem::remove_all(raw_dir);
    Print("raw_write_files", bytes, raw_files_seconds);

    std::filesystem::remove_all(snap);
    const int64_t rss_before_kb = StatusKb("VmRSS");
    ResetPeakRss();
    const double save_start = Now();
    const double save_cpu_start = CpuSeconds();
    const absl::Status saved = flow::checkpoint::SaveSnapshot(snap, vars);
    const double save_seconds = Now() - save_start;
    const double save_cpu = CpuSeconds() - save_cpu_start;
    if (!saved.ok()) Die(saved.ToString());
    const int64_t peak_kb = StatusKb("VmHWM");
    Print("save", bytes, save_seconds,
          absl::StrCat(", \"cpu_seconds\": ", save_cpu,
                       ", \"rss_before_mib\": ", rss_before_kb / 1024,
                       ", \"extra_peak_rss_mib\": ", (peak_kb - rss_before_kb) / 1024.0));
  } else if (mode == "load_warm" || mode == "load_cold") {
    // A fresh process, as a resuming run is: the loaded tensors' pages are new memory.
    if (mode == "load_cold") EvictTree(snap);
    const double cpu_start = CpuSeconds();
    auto [seconds, loaded] = Load(snap);
    const double cpu = CpuSeconds() - cpu_start;
    int64_t bytes = 0;
    for (const auto& [name, t] : loaded) bytes += t.num_bytes();
    if (check) {
      for (const auto& [name, t] : MakeModel(mb)) {
        if (!loaded.at(name).BitwiseEqual(t)) Die("loaded " + name + " differs from the model");
      }
    }
    // How much of the loaded memory is backed by 2 MiB pages: where page faults are expensive,
    // a load that gets none (fragmented memory, THP off) is several times slower.
    Print(mode, bytes, seconds,
          absl::StrCat(", \"cpu_seconds\": ", cpu,
                       ", \"anon_huge_mib\": ", SmapsRollupKb("AnonHugePages") / 1024));
  } else {
    Die("--mode=save|load_warm|load_cold is required");
  }
  return 0;
}

// libFuzzer target over the snapshot `meta` parser and the snapshot loader (GetSnapshot, Read,
// ReadInto, VerifySnapshot). Built by tests/fuzz/CMakeLists.txt with clang
// -fsanitize=fuzzer,address,undefined; run with tools/fuzz.sh [seconds].
//
// Each input is used twice:
//  (a) as a whole, as `meta` text for ParseMetaFile: an accepted meta must be self-consistent
//      (known dtype, rank <= cap, dims >= 0, num_bytes = prod(dims) * itemsize without overflow)
//      and survive FormatMetaFile -> ParseMetaFile unchanged;
//  (b) as a tiny snapshot: byte 0 holds flags, the rest is split on "\n%%\n" into
//        name, meta, out, sidecar [, name2, meta2, out2, sidecar2]
//      written to a scratch directory (flags choose which files exist, whether `snapshot_done`
//      is written, whether the sidecar is the given text or the correct CRC of `out`, and whether
//      `out` or the variable directory is replaced by a symlink or a FIFO). The loader must never
//      crash, and whatever it accepts must agree with what was written: a successful Read returns
//      exactly the bytes of `out` with the shape/dtype of `meta`, a wrong sidecar CRC is never
//      accepted, links/FIFOs and missing `snapshot_done` are always refused, and VerifySnapshot
//      agrees with the reads.
// A violated expectation aborts with a message (a crash to libFuzzer).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "checkpoint/checksum_file.h"
#include "checkpoint/crc32c.h"
#include "checkpoint/meta_file.h"
#include "checkpoint/snapshot_reader.h"
#include "checkpoint/variable_name.h"
#include "runtime/tensor.h"

namespace flow::checkpoint {
namespace {

#define FUZZ_EXPECT(condition, message)                                                           \
  do {                                                                                            \
    if (!(condition)) {                                                                           \
      std::fprintf(stderr, "%s:%d: expectation failed: %s: %s\n", __FILE__, __LINE__, #condition, \
                   std::string(message).c_str());                                                 \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)

enum Flags : uint8_t {
  kWriteDone = 1 << 0,        // write snapshot_done
  kAllowIncomplete = 1 << 1,  // GetOptions::allow_incomplete
  kWriteMeta = 1 << 2,        // write the meta piece as `meta`
  kWriteSidecar = 1 << 3,     // write a sidecar: the given piece, or (kGoodSidecar) the right one
  kGoodSidecar = 1 << 4,
  kOutSymlink = 1 << 5,  // `out` is a symlink to a regular file holding the out piece
  kOutFifo = 1 << 6,     // `out` is a FIFO
  kDirSymlink = 1 << 7,  // the variable directory is a symlink to a real one
};

const std::string& ScratchRoot() {
  static const std::string* root = [] {
    const char* base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(base) + "/flowrt_fuzz_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return new std::string(pattern);
  }();
  return *root;
}

bool WriteBytes(const std::string& path, absl::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  return ok;
}

bool Creatable(absl::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == absl::string_view::npos && name.find('\0') == absl::string_view::npos;
}

void FuzzMeta(absl::string_view text) {
  absl::StatusOr<VariableMeta> meta = ParseMetaFile(text);
  if (!meta.ok()) return;
  FUZZ_EXPECT(ItemSize(meta->dtype) > 0, meta->shape.ToString());
  FUZZ_EXPECT(meta->shape.rank() <= kMaxMetaRank, meta->shape.ToString());
  int64_t product = ItemSize(meta->dtype);
  for (int64_t d : meta->shape.dims()) {
    FUZZ_EXPECT(d >= 0, meta->shape.ToString());
    FUZZ_EXPECT(!__builtin_mul_overflow(product, d, &product), meta->shape.ToString());
  }
  FUZZ_EXPECT(product == meta->num_bytes, meta->shape.ToString());
  absl::StatusOr<VariableMeta> again = ParseMetaFile(FormatMetaFile(meta->shape, meta->dtype));
  FUZZ_EXPECT(again.ok(), again.status().ToString());
  FUZZ_EXPECT(again->shape == meta->shape && again->dtype == meta->dtype &&
                  again->num_bytes == meta->num_bytes,
              meta->shape.ToString());
}

struct WrittenVariable {
  std::string name;
  std::optional<std::string> meta;     // text written as `meta`
  std::string out;                     // bytes of `out` (or of its link target)
  std::optional<std::string> sidecar;  // text written as `out.crc32c`
  bool hostile_file_type = false;      // out/dir is a link or FIFO: must be refused
};

std::optional<WrittenVariable> WriteVariable(const std::string& snapshot,
                                             const std::string& outside, uint8_t flags,
                                             absl::string_view name, absl::string_view meta,
                                             absl::string_view out, absl::string_view sidecar) {
  if (!Creatable(name)) return std::nullopt;
  WrittenVariable v;
  v.name = std::string(name);
  v.out = std::string(out);
  std::string dir = snapshot + "/" + v.name;
  if (flags & kDirSymlink) {
    // The real directory lives outside the snapshot; the snapshot holds a link to it.
    const std::string real = outside + "/dir-" + std::to_string(std::hash<std::string>()(v.name));
    if (::mkdir(real.c_str(), 0755) != 0) return std::nullopt;
    if (::symlink(real.c_str(), dir.c_str()) != 0) return std::nullopt;
    dir = real;
    v.hostile_file_type = true;
  } else if (::mkdir(dir.c_str(), 0755) != 0) {
    return std::nullopt;  // e.g. a second variable of the same name, or "snapshot_done"
  }
  const std::string out_path = dir + "/out";
  if (flags & kOutFifo) {
    if (::mkfifo(out_path.c_str(), 0644) != 0) std::abort();
    v.hostile_file_type = true;
  } else if (flags & kOutSymlink) {
    const std::string target = outside + "/out-" + std::to_string(std::hash<std::string>()(v.name));
    if (!WriteBytes(target, out) || ::symlink(target.c_str(), out_path.c_str()) != 0) {
      std::abort();
    }
    v.hostile_file_type = true;
  } else if (!WriteBytes(out_path, out)) {
    std::abort();
  }
  if (flags & kWriteMeta) {
    v.meta = std::string(meta);
    if (!WriteBytes(dir + "/meta", meta)) std::abort();
  }
  if (flags & kWriteSidecar) {
    v.sidecar = (flags & kGoodSidecar)
                    ? FormatChecksumFile({.crc32c = Crc32cExtend(0, out.data(), out.size()),
                                          .size = static_cast<int64_t>(out.size())})
                    : std::string(sidecar);
    if (!WriteBytes(dir + "/" + std::string(kChecksumFile), *v.sidecar)) std::abort();
  }
  return v;
}

std::string Bytes(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw_data()), static_cast<size_t>(t.num_bytes()));
}

// Whether reading `v` in full must succeed, judged from what was written alone.
bool ReadShouldSucceed(const WrittenVariable& v) {
  if (v.meta.has_value()) {
    absl::StatusOr<VariableMeta> meta = ParseMetaFile(*v.meta);
    if (!meta.ok() || meta->num_bytes != static_cast<int64_t>(v.out.size())) return false;
  }
  if (v.sidecar.has_value()) {
    absl::StatusOr<OutChecksum> sum = ParseChecksumFile(*v.sidecar);
    if (!sum.ok() || sum->size != static_cast<int64_t>(v.out.size())) return false;
    if (sum->crc32c != Crc32cExtend(0, v.out.data(), v.out.size())) return false;
  }
  return !v.hostile_file_type && CheckVariableName(v.name).ok();
}

void FuzzSnapshot(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const uint8_t flags = data[0];
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<absl::string_view> pieces = absl::StrSplit(rest, "\n%%\n");
  pieces.resize(std::max<size_t>(pieces.size() <= 4 ? 4 : 8, pieces.size()));

  const std::string snapshot = ScratchRoot() + "/snap";
  const std::string outside = ScratchRoot() + "/outside";
  std::filesystem::remove_all(snapshot);
  std::filesystem::remove_all(outside);
  if (::mkdir(snapshot.c_str(), 0755) != 0 || ::mkdir(outside.c_str(), 0755) != 0) std::abort();

  std::vector<WrittenVariable> written;
  for (size_t i = 0; i + 4 <= 8 && i + 4 <= pieces.size(); i += 4) {
    // The second variable takes the flags rotated, so it differs from the first.
    const uint8_t var_flags = i == 0 ? flags : static_cast<uint8_t>((flags >> 3) | (flags << 5));
    if (i > 0 && pieces[i].empty()) break;
    std::optional<WrittenVariable> v = WriteVariable(snapshot, outside, var_flags, pieces[i],
                                                     pieces[i + 1], pieces[i + 2], pieces[i + 3]);
    if (v.has_value()) written.push_back(std::move(*v));
  }
  const bool done = flags & kWriteDone;
  if (done && !WriteBytes(snapshot + "/" + std::string(kSnapshotDoneFile), "")) {
    // A variable took the name "snapshot_done": refused below as an unsafe name anyway.
  }

  bool all_sound = done;
  std::vector<std::string> names;
  for (const WrittenVariable& v : written) {
    all_sound = all_sound && ReadShouldSucceed(v);
    names.push_back(v.name);
  }
  all_sound = all_sound && CheckDistinctVariableNames(names).ok();

  const bool allow_incomplete = flags & kAllowIncomplete;
  absl::StatusOr<std::map<std::string, SnapshotVariable>> loaded =
      GetSnapshot(snapshot, {.allow_incomplete = allow_incomplete});
  if (loaded.ok()) {
    FUZZ_EXPECT(done || allow_incomplete, "incomplete snapshot accepted");
    FUZZ_EXPECT(loaded->size() == written.size(), "variable count differs from what was written");
    FUZZ_EXPECT(CheckDistinctVariableNames(names).ok(), "names colliding in case accepted");
    for (const WrittenVariable& v : written) {
      FUZZ_EXPECT(!v.hostile_file_type, "a symlink or FIFO was accepted: " + v.name);
      FUZZ_EXPECT(CheckVariableName(v.name).ok(), "unsafe name accepted: " + v.name);
      auto it = loaded->find(v.name);
      FUZZ_EXPECT(it != loaded->end(), "variable missing: " + v.name);
      const SnapshotVariable& variable = it->second;
      FUZZ_EXPECT(variable.file_size() == static_cast<int64_t>(v.out.size()), v.name);
      FUZZ_EXPECT(variable.has_meta() == v.meta.has_value(), v.name);
      FUZZ_EXPECT(variable.has_checksum() == v.sidecar.has_value(), v.name);
      const bool should_read = ReadShouldSucceed(v);
      if (variable.has_meta()) {
        absl::StatusOr<VariableMeta> meta = ParseMetaFile(*v.meta);
        FUZZ_EXPECT(meta.ok(), "an unparsable meta was accepted: " + v.name);
        FUZZ_EXPECT(meta->shape == variable.shape() && meta->dtype == variable.dtype(), v.name);
        FUZZ_EXPECT(meta->num_bytes == variable.file_size(), "size differs from meta: " + v.name);
        absl::StatusOr<Tensor> read = variable.Read();
        FUZZ_EXPECT(read.ok() == should_read, v.name + ": " + read.status().ToString());
        if (read.ok()) {
          FUZZ_EXPECT(read->shape() == meta->shape && read->dtype() == meta->dtype, v.name);
          FUZZ_EXPECT(Bytes(*read) == v.out, "Read returned other bytes: " + v.name);
        }
        Tensor into(meta->shape, meta->dtype);
        const absl::Status status = variable.ReadInto(&into);
        FUZZ_EXPECT(status.ok() == should_read, v.name + ": " + status.ToString());
        if (status.ok()) FUZZ_EXPECT(Bytes(into) == v.out, "ReadInto bytes: " + v.name);
        // A destination of another shape is refused before anything is read.
        Tensor wrong(Shape({static_cast<int64_t>(v.out.size()) + 1}), kUInt8);
        FUZZ_EXPECT(!variable.ReadInto(&wrong).ok(), "ReadInto wrong shape: " + v.name);
      } else {
        FUZZ_EXPECT(!variable.Read().ok(), "Read without meta succeeded: " + v.name);
        Tensor into(Shape({static_cast<int64_t>(v.out.size())}), kUInt8);
        const absl::Status status = variable.ReadInto(&into);
        FUZZ_EXPECT(status.ok() == should_read, v.name + ": " + status.ToString());
        if (status.ok()) FUZZ_EXPECT(Bytes(into) == v.out, "ReadInto bytes: " + v.name);
        Tensor wrong(Shape({static_cast<int64_t>(v.out.size()) + 1}), kUInt8);
        FUZZ_EXPECT(!variable.ReadInto(&wrong).ok(), "ReadInto wrong size: " + v.name);
      }
    }
  } else if (done || allow_incomplete) {
    // Refused: some variable must be unsound.
    bool any_unsound = !CheckDistinctVariableNames(names).ok();
    for (const WrittenVariable& v : written) {
      if (v.hostile_file_type || !CheckVariableName(v.name).ok()) any_unsound = true;
      if (v.meta.has_value()) {
        absl::StatusOr<VariableMeta> meta = ParseMetaFile(*v.meta);
        if (!meta.ok() || meta->num_bytes != static_cast<int64_t>(v.out.size())) {
          any_unsound = true;
        }
      }
      if (v.sidecar.has_value()) {
        absl::StatusOr<OutChecksum> sum = ParseChecksumFile(*v.sidecar);
        if (!sum.ok() || sum->size != static_cast<int64_t>(v.out.size())) any_unsound = true;
      }
    }
    FUZZ_EXPECT(any_unsound, "a sound snapshot was refused: " + loaded.status().ToString());
  }

  const absl::Status verified = VerifySnapshot(snapshot);
  FUZZ_EXPECT(verified.ok() == all_sound, verified.ToString());

  std::filesystem::remove_all(snapshot);
  std::filesystem::remove_all(outside);
}

}  // namespace
}  // namespace flow::checkpoint

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  flow::checkpoint::FuzzMeta(absl::string_view(reinterpret_cast<const char*>(data), size));
  flow::checkpoint::FuzzSnapshot(data, size);
  return 0;
}

#include "data/gzip_file.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace flow::data {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

constexpr size_t kChunk = size_t{1} << 20;

absl::StatusOr<std::string> ReadPlain(std::FILE* f, const std::string& path, int64_t max_bytes) {
  std::string bytes;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) {
    if (static_cast<int64_t>(bytes.size() + n) > max_bytes) {
      return absl::DataLossError(
          absl::StrCat(path, ": file is larger than the ", max_bytes, "-byte limit"));
    }
    bytes.append(buffer, n);
  }
  if (std::ferror(f)) {
    return absl::DataLossError(absl::StrCat(path, ": read error: ", std::strerror(errno)));
  }
  return bytes;
}

absl::StatusOr<std::string> ReadGzip(const std::string& path, int64_t max_bytes) {
  GzPtr gz(gzopen(path.c_str(), "rb"));
  if (gz == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  gzbuffer(gz.get(), 1 << 18);
  std::string bytes;
  for (;;) {
    const size_t old_size = bytes.size();
    bytes.resize(old_size + kChunk);
    const int n = gzread(gz.get(), bytes.data() + old_size, static_cast<unsigned>(kChunk));
    if (n < 0) {
      int err = Z_OK;
      const char* message = gzerror(gz.get(), &err);
      return absl::DataLossError(absl::StrCat(path, ": corrupt gzip stream: ", message));
    }
    bytes.resize(old_size + static_cast<size_t>(n));
    if (static_cast<int64_t>(bytes.size()) > max_bytes) {
      return absl::DataLossError(
          absl::StrCat(path, ": gzip stream inflates past the ", max_bytes, "-byte limit"));
    }
    if (n == 0) break;
  }
  // gzread reports a stream cut short as a clean end of file plus a Z_BUF_ERROR.
  int err = Z_OK;
  const char* message = gzerror(gz.get(), &err);
  if (err != Z_OK && err != Z_STREAM_END) {
    return absl::DataLossError(absl::StrCat(path, ": truncated or corrupt gzip stream: ", message));
  }
  bytes.shrink_to_fit();
  return bytes;
}

}  // namespace

absl::StatusOr<std::string> ReadMaybeGzipFile(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, f.get());
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    f.reset();
    return ReadGzip(path, max_bytes);
  }
  std::rewind(f.get());
  return ReadPlain(f.get(), path, max_bytes);
}

absl::Status WriteMaybeGzipFile(const std::string& path, const std::string& bytes) {
  if (absl::EndsWith(path, ".gz")) {
    GzPtr gz(gzopen(path.c_str(), "wb"));
    if (gz == nullptr) {
      return absl::InternalError(absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
    }
    size_t done = 0;
    while (done < bytes.size()) {
      const unsigned n = static_cast<unsigned>(std::min(bytes.size() - done, kChunk));
      if (gzwrite(gz.get(), bytes.data() + done, n) != static_cast<int>(n)) {
        int err = Z_OK;
        return absl::InternalError(
            absl::StrCat(path, ": gzip write failed: ", gzerror(gz.get(), &err)));
      }
      done += n;
    }
    if (gzclose(gz.release()) != Z_OK) {
      return absl::InternalError(absl::StrCat(path, ": gzip close failed"));
    }
    return absl::OkStatus();
  }
  FilePtr f(std::fopen(path.c_str(), "wb"));
  if (f == nullptr) {
    return absl::InternalError(absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
  }
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() ||
      std::fclose(f.release()) != 0) {
    return absl::InternalError(absl::StrCat(path, ": write failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace flow::data

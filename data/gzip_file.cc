#include "data/gzip_file.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/status.h"

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

}  // namespace

void MaybeGzipReader::Closer::operator()(std::FILE* f) const { std::fclose(f); }
void MaybeGzipReader::Closer::operator()(gzFile_s* f) const { gzclose(f); }

absl::StatusOr<MaybeGzipReader> MaybeGzipReader::Open(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  MaybeGzipReader reader;
  reader.path_ = path;
  reader.plain_.reset(std::fopen(path.c_str(), "rb"));
  if (reader.plain_ == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, reader.plain_.get());
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    reader.plain_.reset();
    reader.gzip_.reset(gzopen(path.c_str(), "rb"));
    if (reader.gzip_ == nullptr) {
      return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
    }
    gzbuffer(reader.gzip_.get(), 1 << 18);
    return reader;
  }
  std::rewind(reader.plain_.get());
  struct stat st {};
  if (fstat(fileno(reader.plain_.get()), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot stat: ", std::strerror(errno)));
  }
  reader.plain_size_ = static_cast<int64_t>(st.st_size);
  return reader;
}

absl::StatusOr<size_t> MaybeGzipReader::Read(void* out, size_t n) {
  char* dst = static_cast<char*>(out);
  if (plain_ != nullptr) {
    const size_t got = n == 0 ? 0 : std::fread(dst, 1, n, plain_.get());
    if (got < n && std::ferror(plain_.get())) {
      return absl::DataLossError(absl::StrCat(path_, ": read error: ", std::strerror(errno)));
    }
    return got;
  }
  size_t done = 0;
  while (done < n) {  // gzread takes an unsigned count and returns an int: chunks of kChunk
    const unsigned want = static_cast<unsigned>(std::min(n - done, kChunk));
    const int got = gzread(gzip_.get(), dst + done, want);
    if (got < 0) {
      int err = Z_OK;
      const char* message = gzerror(gzip_.get(), &err);
      return absl::DataLossError(absl::StrCat(path_, ": corrupt gzip stream: ", message));
    }
    done += static_cast<size_t>(got);
    if (static_cast<unsigned>(got) < want) {
      // gzread reports a stream cut short as a clean end of file plus a Z_BUF_ERROR.
      int err = Z_OK;
      const char* message = gzerror(gzip_.get(), &err);
      if (err != Z_OK && err != Z_STREAM_END) {
        return absl::DataLossError(
            absl::StrCat(path_, ": truncated or corrupt gzip stream: ", message));
      }
      break;
    }
  }
  return done;
}

absl::StatusOr<std::string> ReadMaybeGzipFile(const std::string& path, int64_t max_bytes) {
  FLOWRT_ASSIGN_OR_RETURN(MaybeGzipReader in, MaybeGzipReader::Open(path));
  std::string bytes;
  if (in.plain_size().has_value()) {  // one read of the known size
    if (*in.plain_size() > max_bytes) {
      return absl::DataLossError(
          absl::StrCat(path, ": file is larger than the ", max_bytes, "-byte limit"));
    }
    bytes.resize(static_cast<size_t>(*in.plain_size()));
    FLOWRT_ASSIGN_OR_RETURN(const size_t got, in.Read(bytes.data(), bytes.size()));
    bytes.resize(got);  // the file shrank meanwhile
    return bytes;
  }
  for (;;) {
    const size_t old_size = bytes.size();
    bytes.resize(old_size + kChunk);
    FLOWRT_ASSIGN_OR_RETURN(const size_t got, in.Read(bytes.data() + old_size, kChunk));
    bytes.resize(old_size + got);
    if (static_cast<int64_t>(bytes.size()) > max_bytes) {
      return absl::DataLossError(
          absl::StrCat(path, ": gzip stream inflates past the ", max_bytes, "-byte limit"));
    }
    if (got < kChunk) break;
  }
  bytes.shrink_to_fit();
  return bytes;
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

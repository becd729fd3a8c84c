// The CRC32C sidecar, a flowrt extension: `<var>/out.crc32c` holds the CRC32C and the byte length
// of `<var>/out`. OneFlow ignores extra files in a variable directory, so snapshots with sidecars
// stay loadable by OneFlow; snapshots without them (written by OneFlow) load with size checks.
//
//   FormatChecksumFile({.crc32c = 0xe3069283, .size = 9}) == "crc32c e3069283\nsize 9\n"
//   FLOWRT_ASSIGN_OR_RETURN(OutChecksum sum, ParseChecksumFile(text));
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flow::checkpoint {

inline constexpr absl::string_view kChecksumFile = "out.crc32c";
// Real sidecars are ~30 bytes; anything bigger is refused unread.
inline constexpr int64_t kMaxChecksumFileBytes = 256;

struct OutChecksum {
  uint32_t crc32c = 0;
  int64_t size = 0;
};

// "crc32c <8 lowercase hex digits>\nsize <decimal bytes>\n".
std::string FormatChecksumFile(const OutChecksum& checksum);

// Accepts exactly the format above (a trailing newline optional); anything else is an error.
absl::StatusOr<OutChecksum> ParseChecksumFile(absl::string_view text);

}  // namespace flow::checkpoint

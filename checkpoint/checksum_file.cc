#include "checkpoint/checksum_file.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace flow::checkpoint {

std::string FormatChecksumFile(const OutChecksum& checksum) {
  return absl::StrFormat("crc32c %08x\nsize %d\n", checksum.crc32c, checksum.size);
}

absl::StatusOr<OutChecksum> ParseChecksumFile(absl::string_view text) {
  absl::string_view body = text;
  absl::ConsumeSuffix(&body, "\n");
  const std::vector<absl::string_view> lines = absl::StrSplit(body, '\n');
  auto malformed = [] {
    return absl::InvalidArgumentError(
        "malformed checksum file: expected \"crc32c <8 hex digits>\\nsize <bytes>\\n\"");
  };
  if (lines.size() != 2) return malformed();
  absl::string_view crc_text = lines[0];
  absl::string_view size_text = lines[1];
  if (!absl::ConsumePrefix(&crc_text, "crc32c ") || !absl::ConsumePrefix(&size_text, "size ")) {
    return malformed();
  }
  OutChecksum checksum;
  uint32_t crc = 0;
  // SimpleHexAtoi would also take "0x" and a sign; a sidecar holds exactly 8 hex digits.
  if (crc_text.size() != 8) return malformed();
  for (char c : crc_text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return malformed();
  }
  if (!absl::SimpleHexAtoi(crc_text, &crc)) return malformed();
  // SimpleAtoi accepts a sign and spaces; a size is digits only.
  if (size_text.empty() || size_text.size() > 19 ||
      size_text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(size_text, &checksum.size)) {
    return malformed();
  }
  checksum.crc32c = crc;
  return checksum;
}

}  // namespace flow::checkpoint

#include "checkpoint/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

namespace flow::checkpoint {

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size) {
  // ISA-L's crc32_iscsi neither pre- nor post-inverts: the standard CRC32C is
  // ~crc32_iscsi(buf, len, ~0). Extending a finished CRC therefore re-inverts it first. Its length
  // is an `int`, so huge ranges go in chunks.
  constexpr size_t kMaxChunk = size_t{1} << 30;
  unsigned int state = ~crc;
  auto* bytes = static_cast<unsigned char*>(const_cast<void*>(data));  // ISA-L only reads it
  while (size > 0) {
    const size_t n = std::min(size, kMaxChunk);
    state = crc32_iscsi(bytes, static_cast<int>(n), state);
    bytes += n;
    size -= n;
  }
  return ~state;
}

}  // namespace flow::checkpoint

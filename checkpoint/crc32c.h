// CRC32C (Castagnoli, the iSCSI polynomial) of byte ranges, computed with ISA-L's SSE4.2/AVX code.
// The value equals the standard CRC-32C (check value of "123456789" is 0xE3069283), so a sidecar
// written by flowrt can be checked by any other CRC32C tool.
//
//   uint32_t crc = flow::checkpoint::Crc32c(data, size);
//   // or incrementally, chunk by chunk, with the same result:
//   uint32_t c = 0;
//   c = flow::checkpoint::Crc32cExtend(c, chunk1, n1);
//   c = flow::checkpoint::Crc32cExtend(c, chunk2, n2);
#pragma once

#include <cstddef>
#include <cstdint>

namespace flow::checkpoint {

// CRC32C of [data, data + size) appended to a message whose CRC32C is `crc` (0 for empty).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32c(const void* data, size_t size) { return Crc32cExtend(0, data, size); }

}  // namespace flow::checkpoint

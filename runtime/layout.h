// How a blob's bytes are ordered in the arena. Every blob a user can see (fetches, variables,
// placeholders) is plain C-order. Inside a compiled job, rank-4 float activations that flow only
// between oneDNN convolution/pooling ops and elementwise ops are stored in oneDNN's channel-blocked
// layout instead (nChw16c on AVX-512: for each (n, c / 16, h, w), 16 consecutive channels), which
// is what those primitives compute in — so a conv chain reorders only at its boundaries, not
// around every op. runtime/layout_assignment.h decides which blobs qualify.
#pragma once

#include <cstdint>

#include "runtime/shape.h"

namespace flow {

enum class Layout {
  kPlain,    // C-order (NCHW for rank 4)
  kBlocked,  // oneDNN nChw{B}c, B = BlockedChannels(); only for (N, C, H, W) with C % B == 0
};

// Channels per block of kBlocked on this CPU: 16 with AVX-512, else 8 (oneDNN's choice for f32
// convolutions). With C a multiple of it the blocked layout has exactly the plain size.
int64_t BlockedChannels();

// Whether a blob of this shape may be stored blocked (rank 4, channels a multiple of the block).
bool CanBlock(const Shape& shape);

}  // namespace flow

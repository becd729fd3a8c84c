// flowrt's own max pooling on the channel-blocked layout (runtime/layout.h), forward with argmax
// and backward, for windows that do not overlap (stride == window, LeNet's 2×2 stride 2):
//
//   // x (N, C/B, H, W, B) → y (N, C/B, OH, OW, B), workspace (N, C/B, OH, OW, B) u8
//   BlockedMaxPoolForward(g, /*block=*/8, x, y, /*y_plain=*/false, workspace);
//   // dy (N, C/B, OH, OW, B), workspace → dx (N, C/B, H, W, B), every element written
//   BlockedMaxPoolBackward(g, 8, dy, /*dy_plain=*/false, workspace, dx);
//   // the same with ReLU's gradient fused in: dy masked by pool_y > 0 (N, C/B, OH, OW, B)
//   BlockedMaxPoolBackward(g, 8, dy, false, workspace, dx, pool_y, /*relu_y_plain=*/false);
//
// The pooled side (y, dy) may instead be plain (N, C, OH, OW): LeNet's pool2 output feeds the
// reshape into dense1, so it is stored plain and the kernel writes (and reads) it directly.
//
// Why: oneDNN 2.6's AVX2 pooling runs pool1 of LeNet (100×32×28×28) in 9.7 ms forward_training
// where reading 10 MB costs ~1 ms (issue 19). Here one pass reads each input cell once, and the
// backward writes every dx cell once (dy to the window's winner, 0 elsewhere) instead of a zero
// fill followed by a scatter.
//
// Exactly oneDNN's results (tests/ops/max_pool2d_blocked_kernel_test.cc checks y, the workspace
// and dx bit for bit against oneDNN primitives on inputs with ties): the winner is the FIRST
// maximal real cell in row-major window order (a later cell replaces the running max only when
// strictly greater; padded cells never take part), and the workspace byte is its index
// kh·KW + kw within the window — oneDNN's own workspace format for f32 max pooling in this layout
// (u8, one byte per output, the dst's blocked order). So either implementation's backward reads
// either's forward workspace.
//
// Block 8 runs AVX2 code, block 16 AVX-512 code: the block is what the layout assignment chose
// from the ISA oneDNN dispatches to (dnnl::get_effective_cpu_isa(), which honours
// ONEDNN_MAX_CPU_ISA), so a capped run is a faithful AVX2 run of these kernels too.
#pragma once

#include <cstdint>

#include "ops/pooling.h"

namespace flow {

// Whether the kernels handle this geometry: stride == window in both dims (no overlap), at most
// 256 cells per window (u8 index). REQUIRES for the kernels below.
bool BlockedMaxPoolSupports(const PoolGeometry& g);

// `block` is 8 (AVX2 + FMA code) or 16 (AVX-512 code), C % block == 0; the CPU must have the
// ISA. x and dx are blocked, the workspace always in the blocked order; y / dy plain NCHW when
// `y_plain` / `dy_plain`. `workspace` may be null (inference: no argmax kept). Threads: the
// OpenMP team, split over the images.
// Backward with `relu_y` (pooled shape, plain when `relu_y_plain`): each window's winner gets
// relu_y > 0 ? dy : +0 — relu_grad(dy, relu_y) routed, bit for bit, in the same single pass.
void BlockedMaxPoolForward(const PoolGeometry& g, int block, const float* x, float* y, bool y_plain,
                           uint8_t* workspace);
void BlockedMaxPoolBackward(const PoolGeometry& g, int block, const float* dy, bool dy_plain,
                            const uint8_t* workspace, float* dx, const float* relu_y = nullptr,
                            bool relu_y_plain = false);
// Image n of either, on the calling thread, for a producer or consumer that works image by image
// while the full-size image is in the cache (ops/conv2d_max_pool2d.cc,
// ops/max_pool2d_grad_conv2d_grad_weight.cc): x_image / dx_image (C/B, H, W, B) is image n's
// only; y, dy, workspace and relu_y are the whole batch's.
void BlockedMaxPoolForwardImage(const PoolGeometry& g, int block, int64_t n, const float* x_image,
                                float* y, bool y_plain, uint8_t* workspace);
void BlockedMaxPoolBackwardImage(const PoolGeometry& g, int block, int64_t n, const float* dy,
                                 bool dy_plain, const uint8_t* workspace, float* dx_image,
                                 const float* relu_y, bool relu_y_plain);

}  // namespace flow

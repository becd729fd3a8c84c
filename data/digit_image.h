// Digit images from files, for `flowrt predict`: PNG (through libspng), binary PGM (P5) or an IDX
// images file, each becoming (N, 1, 28, 28) f32 pixels / 255 — what load_mnist feeds a model.
//
//   FLOWRT_ASSIGN_OR_RETURN(flow::Tensor images, flow::data::ReadDigitImages("seven.png"));  //
//   (1,1,28,28) FLOWRT_ASSIGN_OR_RETURN(flow::Tensor test,
//   flow::data::ReadDigitImages("t10k-images-idx3-ubyte"));
//
// The rule for what is accepted (README "flowrt predict"): 8-bit-or-less grayscale, exactly 28×28,
// used as is — white digit on black, as in MNIST; nothing is resized, recentred or inverted. Any
// other size, colour PNGs, 16-bit samples, a PGM maxval other than 255 are refused, saying what the
// file holds and what is expected. Refusing rather than guessing keeps a prediction about the
// pixels the user gave; converting other images is a job for an image tool.
//
// Hostile input: the kind is chosen by magic bytes, not the file name; a file is read only up to
// kMaxDigitFileBytes; PNG width and height are capped at kMaxPngSide by libspng before any pixel
// buffer exists (and chunk sizes at 1 MiB), so neither huge dimensions nor a zip bomb allocates
// much; truncated or corrupt data (CRC, zlib) is an error. Every error names the file.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/tensor.h"

namespace flow::data {

inline constexpr int64_t kMaxDigitFileBytes = int64_t{64} << 20;  // the MNIST test IDX is 7.8 MB
inline constexpr uint32_t kMaxPngSide = 4096;

// The images of one file at `path`: (N, 1, 28, 28) f32 in [0, 1].
absl::StatusOr<Tensor> ReadDigitImages(const std::string& path);

// The same for a PNG or PGM held in memory (`name` is used in errors); IDX files go through
// ReadDigitImages (data/idx.h reads them, plain or gzip).
absl::StatusOr<Tensor> DecodeDigitImage(absl::string_view bytes, const std::string& name);

}  // namespace flow::data

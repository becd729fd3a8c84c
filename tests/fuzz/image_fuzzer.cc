// libFuzzer target over the digit-image decoders of `flowrt predict` (data/digit_image.h): PNG
// through libspng and binary PGM, from memory. Built by tests/fuzz/CMakeLists.txt with clang
// -fsanitize=fuzzer,address,undefined; run with tools/fuzz.sh [seconds]; seeds in
// tests/fuzz/image_corpus/ (a gray 28x28 PNG, a colour PNG, a PGM).
//
// The decoder must never crash, never allocate much (libFuzzer's -rss_limit_mb and
// -malloc_limit_mb catch a giant allocation), and whatever it accepts must be one 28x28 image
// with pixels in [0, 1].
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "data/digit_image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<flow::Tensor> image = flow::data::DecodeDigitImage(bytes, "fuzz-input");
  if (!image.ok()) {
    if (image.status().message().find("fuzz-input") == std::string::npos) {
      std::fprintf(stderr, "error does not name the file: %s\n",
                   std::string(image.status().message()).c_str());
      std::abort();
    }
    return 0;
  }
  if (image->shape() != flow::Shape({1, 1, 28, 28})) std::abort();
  for (int i = 0; i < 784; ++i) {
    const float v = image->data<float>()[i];
    if (!(v >= 0.0f && v <= 1.0f)) std::abort();
  }
  return 0;
}

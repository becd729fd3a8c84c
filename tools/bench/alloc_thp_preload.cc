// Benchmark experiment only (not built by CMake, never linked into flowrt): an LD_PRELOAD shim
// that replaces flow::AllocateAligned (runtime/tensor.cc) with the change proposed in
// tools/bench/RESULTS_checkpoint.md — buffers of >= 2 MiB are 2 MiB-aligned and
// madvise(MADV_HUGEPAGE)d before they are zero-filled — so its effect on checkpoint loads can be
// measured without rebuilding the library:
//
//   g++ -O2 -shared -fPIC -o /tmp/alloc_thp_preload.so tools/bench/alloc_thp_preload.cc
//   LD_PRELOAD=/tmp/alloc_thp_preload.so build/tools/bench/checkpoint_bench --mode=load_warm ...
//
// It works because libflowrt.so calls AllocateAligned through its PLT (default symbol
// interposition). Semantics are unchanged: the buffer is still 64-byte aligned and zero-filled.
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace flow {

std::shared_ptr<void> AllocateAligned(int64_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t n = bytes <= 0 ? 64 : (static_cast<size_t>(bytes) + 63) / 64 * 64;
  const size_t align = n >= kHugePage ? kHugePage : 64;
  const size_t rounded = (n + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
  if (p == nullptr) std::abort();
  // Before the first touch, so the page faults below map 2 MiB pages, not 4 KiB ones.
  if (align == kHugePage) ::madvise(p, rounded, MADV_HUGEPAGE);
  std::memset(p, 0, rounded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace flow

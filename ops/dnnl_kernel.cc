#include "ops/dnnl_kernel.h"

#include <algorithm>
#include <cstring>

namespace flow {

dnnl::memory::dims DnnlDims(const Shape& shape) {
  return dnnl::memory::dims(shape.dims().begin(), shape.dims().end());
}

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory::desc DnnlDesc(const Shape& shape, dnnl::memory::format_tag tag) {
  return dnnl::memory::desc(DnnlDims(shape), dnnl::memory::data_type::f32, tag);
}

dnnl::memory::desc DnnlDesc(const Shape& shape, Layout layout) {
  FLOWRT_CHECK_EQ(shape.rank(), 4) << shape.ToString();
  if (layout == Layout::kPlain) return DnnlDesc(shape, dnnl::memory::format_tag::nchw);
  FLOWRT_CHECK(CanBlock(shape)) << shape.ToString();
  return DnnlDesc(shape, BlockedChannels() == 16 ? dnnl::memory::format_tag::nChw16c
                                                 : dnnl::memory::format_tag::nChw8c);
}

dnnl::memory DnnlMemory(const Tensor& tensor, dnnl::memory::format_tag tag) {
  return dnnl::memory(DnnlDesc(tensor.shape(), tag), CpuEngine(),
                      const_cast<void*>(tensor.raw_data()));
}

DnnlStep::DnnlStep(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args)
    : primitive_(std::move(primitive)) {
  for (auto& [arg, memory] : args) {
    args_.push_back({arg, memory.get()});
    memories_.push_back(std::move(memory));
  }
}

void DnnlStep::Execute() const {
  const dnnl_status_t status = dnnl_primitive_execute(primitive_.get(), CpuStream().get(),
                                                      static_cast<int>(args_.size()), args_.data());
  FLOWRT_CHECK(status == dnnl_success) << "oneDNN execute failed: " << static_cast<int>(status);
}

dnnl::memory DnnlKernel::Input(const Tensor& tensor, const dnnl::memory::desc& stored,
                               const dnnl::memory::desc& wanted) {
  dnnl::memory user(stored, CpuEngine(), const_cast<void*>(tensor.raw_data()));
  if (stored == wanted) return user;
  dnnl::memory buffer = Buffer(wanted);
  before_.emplace_back(
      dnnl::reorder(user, buffer),
      std::vector<std::pair<int, dnnl::memory>>{{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, buffer}});
  return buffer;
}

dnnl::memory DnnlKernel::Output(const Tensor& tensor, const dnnl::memory::desc& stored,
                                const dnnl::memory::desc& produced) {
  dnnl::memory user(stored, CpuEngine(), const_cast<void*>(tensor.raw_data()));
  if (stored == produced) return user;
  dnnl::memory buffer = Buffer(produced);
  after_.emplace_back(
      dnnl::reorder(buffer, user),
      std::vector<std::pair<int, dnnl::memory>>{{DNNL_ARG_FROM, buffer}, {DNNL_ARG_TO, user}});
  return buffer;
}

void DnnlKernel::Add(dnnl::primitive primitive, std::vector<std::pair<int, dnnl::memory>> args) {
  steps_.emplace_back(std::move(primitive), std::move(args));
}

void DnnlKernel::Add(dnnl::primitive primitive, const dnnl::memory::desc& scratchpad,
                     std::vector<std::pair<int, dnnl::memory>> args) {
  if (scratchpad.get_size() > 0) args.push_back({DNNL_ARG_SCRATCHPAD, Buffer(scratchpad)});
  Add(std::move(primitive), std::move(args));
}

absl::Status DnnlKernel::Run() {
  for (const DnnlStep& step : before_) step.Execute();
  for (const DnnlStep& step : steps_) step.Execute();
  if (!chunks_.empty()) {
    const int64_t count = static_cast<int64_t>(chunks_.size());
    const bool summed = !sums_.empty();
    for (int64_t c = 0; c < count && summed; ++c) {
      chunk_ran_[c].store(false, std::memory_order_relaxed);
    }
    folded_.store(0, std::memory_order_relaxed);
    // Each chunk's primitive runs on one thread (OpenMP sees one inside the loop).
    loop_.Run(count, threads_);
    FLOWRT_CHECK(!summed || folded_.load() == count) << "a chunk was not folded";
  }
  for (const DnnlStep& step : after_) step.Execute();
  return absl::OkStatus();
}

BatchChunks::BatchChunks(int64_t n) : batch(n) {
  // 16 chunks (each ≥ 1 image) whatever the thread count, so the bits do not depend on it: at 2
  // threads a thread with half a core still finishes within one chunk of the other.
  const int64_t chunks = std::min<int64_t>(n, 16);
  const int64_t size = (n + chunks - 1) / chunks;
  for (int64_t start = 0; start < n; start += size) starts.push_back(start);
}

dnnl::memory BatchChunks::Slice(const dnnl::memory& whole, const dnnl::memory::desc& part,
                                int64_t c) const {
  const size_t image_bytes = whole.get_desc().get_size() / static_cast<size_t>(batch);
  char* base = static_cast<char*>(whole.get_data_handle());
  return dnnl::memory(part, CpuEngine(), base + starts[c] * image_bytes);
}

void DnnlKernel::Commit(int64_t c, int slot) {
  const size_t first = static_cast<size_t>(chunk_starts_[c]);
  const size_t images = static_cast<size_t>(chunk_starts_[c + 1]) - first;
  if (slot != 0) {  // slot 0 wrote them in place
    for (const ChunkCopy& copy : copies_) {
      std::memcpy(copy.out + first * copy.image_bytes, copy.own[slot], images * copy.image_bytes);
    }
  }
  if (sums_.empty()) return;
  committed_set_[c] = PartSet(slot);  // read by Fold after ChunkRan's store
  ChunkRan(c);
}

void DnnlKernel::ChunkRan(int64_t c) {
  // Sequentially consistent throughout: a thread that finds another folding leaves its chunk to
  // it, and the folder looks at the chunk's flag again after it stops folding, so one of the two
  // always sees the other (the store-then-load pattern needs the single total order).
  chunk_ran_[c].store(true);
  const int64_t count = static_cast<int64_t>(chunks_.size());
  for (;;) {
    bool idle = false;
    if (!folding_.compare_exchange_strong(idle, true)) return;
    int64_t next = folded_.load();
    for (; next < count && chunk_ran_[next].load(); ++next) Fold(next);
    folded_.store(next);
    folding_.store(false);
    if (next == count || !chunk_ran_[next].load()) return;
  }
}

void DnnlKernel::Fold(int64_t c) {
  for (const ChunkSum& sum : sums_) {
    const float* part = sum.parts[c * Sets() + committed_set_[c]];
    float* out = sum.out;
    if (c == 0) {
      std::copy(part, part + sum.size, out);
    } else {
      for (int64_t i = 0; i < sum.size; ++i) out[i] += part[i];
    }
  }
}

std::optional<dnnl::memory::format_tag> ActivationTag(const dnnl::memory::desc& desc) {
  using tag = dnnl::memory::format_tag;
  if (desc.dims().size() != 4) return std::nullopt;
  for (tag t : {tag::nchw, tag::nhwc, tag::nChw8c, tag::nChw16c}) {
    if (desc == dnnl::memory::desc(desc.dims(), desc.data_type(), t)) return t;
  }
  return std::nullopt;
}

dnnl::memory DnnlKernel::Buffer(const dnnl::memory::desc& desc) {
  buffers_.emplace_back(Shape({static_cast<int64_t>(desc.get_size())}), DataType::kUInt8);
  return dnnl::memory(desc, CpuEngine(), buffers_.back().raw_data());
}

}  // namespace flow

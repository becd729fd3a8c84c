#include "ops/reduce.h"

#include <omp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/attr.h"
#include "runtime/status.h"

namespace flow {
namespace {

// Below this many elements a kernel runs on the calling thread (as ParallelLoopKernel).
constexpr int64_t kParallelMin = 1 << 15;

// `shape` as maximal runs of marked and kept axes; dims of size 1 are dropped (they are neither).
// A shape of only 1s gives one kept run of 1.
struct AxisRuns {
  std::vector<int64_t> dims;
  std::vector<bool> marked;
  int rank() const { return static_cast<int>(dims.size()); }
};

AxisRuns GroupAxes(const Shape& shape, const std::vector<int64_t>& axes) {
  AxisRuns runs;
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] == 1) continue;
    const bool marked = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!runs.dims.empty() && runs.marked.back() == marked) {
      runs.dims.back() *= shape[i];
    } else {
      runs.dims.push_back(shape[i]);
      runs.marked.push_back(marked);
    }
  }
  if (runs.dims.empty()) {
    runs.dims.push_back(1);
    runs.marked.push_back(false);
  }
  return runs;
}

// Per-run strides in elements: of the full tensor, or (kept_only) of the tensor holding only the
// kept runs, where marked runs get stride 0.
std::vector<int64_t> Strides(const AxisRuns& runs, bool kept_only) {
  std::vector<int64_t> strides(runs.rank(), 0);
  int64_t stride = 1;
  for (int j = runs.rank() - 1; j >= 0; --j) {
    if (kept_only && runs.marked[j]) continue;
    strides[j] = stride;
    stride *= runs.dims[j];
  }
  return strides;
}

// Splits [0, extent) of a run of a `total`-element loop among threads; each calls
// body(begin, end) on its part.
template <typename Body>
void ParallelOverRun(int64_t total, int64_t extent, const Body& body) {
  const int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), extent));
  if (total < kParallelMin || threads < 2) {
    body(0, extent);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t nt = omp_get_num_threads();
    const int64_t chunk = (extent + nt - 1) / nt;
    const int64_t begin = omp_get_thread_num() * chunk;
    const int64_t end = std::min(extent, begin + chunk);
    if (begin < end) body(begin, end);
  }
}

class ReduceKernel : public Kernel {
 public:
  ReduceKernel(const float* x, float* out, int64_t x_elements, int64_t out_elements, AxisRuns runs,
               float scale)
      : x_(x),
        out_(out),
        x_elements_(x_elements),
        out_elements_(out_elements),
        runs_(std::move(runs)),
        x_strides_(Strides(runs_, false)),
        out_strides_(Strides(runs_, true)),
        scale_(scale) {
    // Threads split the largest kept run, so each writes its own outputs.
    for (int j = 0; j < runs_.rank(); ++j) {
      if (!runs_.marked[j] && (split_ < 0 || runs_.dims[j] > runs_.dims[split_])) split_ = j;
    }
  }

  absl::Status Run() override {
    if (split_ < 0) {  // every axis reduced: one sum
      const int64_t n = x_elements_;
      const float* x = x_;
      double sum = 0;
#pragma omp parallel for simd reduction(+ : sum) if (n >= kParallelMin)
      for (int64_t i = 0; i < n; ++i) sum += x[i];
      out_[0] = static_cast<float>(sum * scale_);
      return absl::OkStatus();
    }
    std::fill(out_, out_ + out_elements_, 0.f);
    ParallelOverRun(x_elements_, runs_.dims[split_],
                    [&](int64_t begin, int64_t end) { Accumulate(0, x_, out_, begin, end); });
    if (scale_ != 1.f) {
      for (int64_t i = 0; i < out_elements_; ++i) out_[i] *= scale_;
    }
    return absl::OkStatus();
  }

 private:
  // Adds the part of x below run j into out; run split_ only over [begin, end).
  void Accumulate(int j, const float* x, float* out, int64_t begin, int64_t end) const {
    const int64_t lo = j == split_ ? begin : 0;
    const int64_t hi = j == split_ ? end : runs_.dims[j];
    if (j + 1 < runs_.rank()) {
      for (int64_t i = lo; i < hi; ++i) {
        Accumulate(j + 1, x + i * x_strides_[j], out + i * out_strides_[j], begin, end);
      }
    } else if (runs_.marked[j]) {  // innermost run reduced: a contiguous row sum
      float acc = 0.f;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = lo; i < hi; ++i) acc += x[i];
      *out += acc;
    } else {  // innermost run kept: add a contiguous row
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) out[i] += x[i];
    }
  }

  const float* x_;
  float* out_;
  int64_t x_elements_, out_elements_;
  AxisRuns runs_;
  std::vector<int64_t> x_strides_, out_strides_;
  float scale_;
  int split_ = -1;
};

class BroadcastKernel : public Kernel {
 public:
  BroadcastKernel(const float* x, float* out, int64_t out_elements, AxisRuns runs)
      : x_(x),
        out_(out),
        out_elements_(out_elements),
        runs_(std::move(runs)),
        x_strides_(Strides(runs_, true)),
        out_strides_(Strides(runs_, false)) {
    // Threads split the largest run: every split writes disjoint outputs.
    for (int j = 0; j < runs_.rank(); ++j) {
      if (runs_.dims[j] > runs_.dims[split_]) split_ = j;
    }
  }

  absl::Status Run() override {
    ParallelOverRun(out_elements_, runs_.dims[split_],
                    [&](int64_t begin, int64_t end) { Fill(0, x_, out_, begin, end); });
    return absl::OkStatus();
  }

 private:
  void Fill(int j, const float* x, float* out, int64_t begin, int64_t end) const {
    const int64_t lo = j == split_ ? begin : 0;
    const int64_t hi = j == split_ ? end : runs_.dims[j];
    if (j + 1 < runs_.rank()) {
      for (int64_t i = lo; i < hi; ++i) {
        Fill(j + 1, x + i * x_strides_[j], out + i * out_strides_[j], begin, end);
      }
    } else if (runs_.marked[j]) {
      std::fill(out + lo, out + hi, *x);
    } else {
      std::copy(x + lo, x + hi, out + lo);
    }
  }

  const float* x_;
  float* out_;
  int64_t out_elements_;
  AxisRuns runs_;
  std::vector<int64_t> x_strides_, out_strides_;
  int split_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<int64_t>> NormalizeAxes(const ShapeContext& ctx, const Shape& shape,
                                                   const std::vector<int64_t>& axes) {
  const int rank = shape.rank();
  std::vector<int64_t> normalized;
  for (int64_t axis : axes) {
    if (axis < -rank || axis >= rank) {
      return absl::InvalidArgumentError(
          absl::StrCat(ctx.Where(), "axis ", axis, " of axes [", absl::StrJoin(axes, ", "),
                       "] is out of range for shape ", shape.ToString()));
    }
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (std::find(normalized.begin(), normalized.end(), a) != normalized.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(ctx.Where(), "axis ", axis, " of axes [", absl::StrJoin(axes, ", "),
                       "] repeats an axis of shape ", shape.ToString()));
    }
    normalized.push_back(a);
  }
  if (axes.empty()) {
    for (int i = 0; i < rank; ++i) normalized.push_back(i);
  }
  std::sort(normalized.begin(), normalized.end());
  return normalized;
}

std::vector<int64_t> NormalizedAxes(const std::vector<int64_t>& axes, int rank) {
  std::vector<int64_t> normalized;
  for (int64_t axis : axes) normalized.push_back(axis < 0 ? axis + rank : axis);
  if (axes.empty()) {
    for (int i = 0; i < rank; ++i) normalized.push_back(i);
  }
  std::sort(normalized.begin(), normalized.end());
  return normalized;
}

absl::StatusOr<std::vector<BlobDesc>> ReduceShape(const ShapeContext& ctx) {
  FLOWRT_RETURN_IF_ERROR(ExpectFloat(ctx, 0));
  const Shape& x = ctx.inputs[0].shape;
  FLOWRT_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                          NormalizeAxes(ctx, x, AttrInts(ctx.op, "axes")));
  const bool keepdims = AttrBool(ctx.op, "keepdims");
  std::vector<int64_t> dims;
  for (int i = 0; i < x.rank(); ++i) {
    const bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!reduced) {
      dims.push_back(x[i]);
    } else if (keepdims) {
      dims.push_back(1);
    }
  }
  return std::vector<BlobDesc>{{Shape(dims), DataType::kFloat}};
}

std::unique_ptr<Kernel> MakeReduceKernel(const KernelContext& ctx, const std::vector<int64_t>& axes,
                                         float scale) {
  return std::make_unique<ReduceKernel>(ctx.in<float>(0), ctx.out<float>(0),
                                        ctx.inputs[0].num_elements(), ctx.outputs[0].num_elements(),
                                        GroupAxes(ctx.inputs[0].shape(), axes), scale);
}

std::unique_ptr<Kernel> MakeBroadcastKernel(const KernelContext& ctx,
                                            const std::vector<int64_t>& axes) {
  return std::make_unique<BroadcastKernel>(ctx.in<float>(0), ctx.out<float>(0),
                                           ctx.outputs[0].num_elements(),
                                           GroupAxes(ctx.outputs[0].shape(), axes));
}

}  // namespace flow

#include "ops/pooling.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "framework/attr.h"
#include "ops/dnnl_kernel.h"
#include "ops/window.h"
#include "runtime/status.h"

namespace flow {
namespace {

using tag = dnnl::memory::format_tag;

absl::Status CheckPair(const ShapeContext& ctx, absl::string_view attr,
                       const std::vector<int64_t>& v, int64_t min) {
  if (v.size() != 2 || v[0] < min || v[1] < min) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "attr '", attr, "' is [",
                                                   absl::StrJoin(v, ", "),
                                                   "], expected two values >= ", min));
  }
  return absl::OkStatus();
}

void Fill(const std::vector<int64_t>& v, int64_t out[2]) {
  out[0] = v[0];
  out[1] = v[1];
}

dnnl::memory::dims Dims2(const int64_t v[2]) { return {v[0], v[1]}; }

}  // namespace

absl::StatusOr<PoolGeometry> PoolGeometryOf(const ShapeContext& ctx, const Shape& x) {
  if (x.rank() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'x' has shape ",
                                                   x.ToString(), ", expected (N, C, H, W) (NCHW)"));
  }
  const std::vector<int64_t> ksize = AttrInts(ctx.op, "ksize");
  const std::vector<int64_t> strides = AttrInts(ctx.op, "strides");
  const std::vector<int64_t> pad_before = AttrInts(ctx.op, "pad_before");
  const std::vector<int64_t> pad_after = AttrInts(ctx.op, "pad_after");
  FLOWRT_RETURN_IF_ERROR(CheckPair(ctx, "ksize", ksize, 1));
  FLOWRT_RETURN_IF_ERROR(CheckPair(ctx, "strides", strides, 1));
  FLOWRT_RETURN_IF_ERROR(CheckPair(ctx, "pad_before", pad_before, 0));
  FLOWRT_RETURN_IF_ERROR(CheckPair(ctx, "pad_after", pad_after, 0));
  PoolGeometry g;
  g.x = x;
  Fill(ksize, g.kernel);
  Fill(strides, g.strides);
  Fill(pad_before, g.pad_before);
  Fill(pad_after, g.pad_after);
  for (int d = 0; d < 2; ++d) {
    // A pad as large as the window would allow windows of padding only (no max, divisor 0).
    if (g.pad_before[d] >= g.kernel[d] || g.pad_after[d] >= g.kernel[d]) {
      return absl::InvalidArgumentError(
          absl::StrCat(ctx.Where(), "padding ", g.pad_before[d], "/", g.pad_after[d],
                       " of spatial dim ", d, " must be smaller than the window ", g.kernel[d]));
    }
    absl::StatusOr<int64_t> out =
        WindowOutputSize(x[2 + d], g.kernel[d], g.strides[d], 1, g.pad_before[d], g.pad_after[d]);
    if (!out.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'x' ", x.ToString(),
                                                     ", spatial dim ", d, ": ",
                                                     out.status().message()));
    }
    g.out[d] = *out;
  }
  return g;
}

PoolGeometry PoolGeometryOf(const flowrt::OpConf& op, const Shape& x) {
  ShapeContext ctx{op, {}};
  absl::StatusOr<PoolGeometry> g = PoolGeometryOf(ctx, x);
  FLOWRT_CHECK(g.ok()) << g.status();
  return *g;
}

Layout PoolComputeLayout(const PoolGeometry& g) {
  return CanBlock(g.x) ? Layout::kBlocked : Layout::kPlain;
}

dnnl::pooling_forward::primitive_desc PoolForwardDesc(const PoolGeometry& g,
                                                      dnnl::algorithm algorithm,
                                                      dnnl::prop_kind prop_kind) {
  const Layout layout = PoolComputeLayout(g);
  // forward_training: max pooling then records its argmax in a workspace; for the average it is
  // the same computation, and the backward descriptor wants a training-mode hint.
  dnnl::pooling_forward::desc desc(prop_kind, algorithm, DnnlDesc(g.x, layout),
                                   DnnlDesc(g.y_shape(), layout), Dims2(g.strides), Dims2(g.kernel),
                                   Dims2(g.pad_before), Dims2(g.pad_after));
  return dnnl::pooling_forward::primitive_desc(desc, UserScratchpad(), CpuEngine());
}

bool WorkspaceIsBlockedArgmax(const PoolGeometry& g) {
  if (PoolComputeLayout(g) != Layout::kBlocked) return false;
  const dnnl::memory::desc bytes(DnnlDims(g.y_shape()), dnnl::memory::data_type::u8,
                                 BlockedChannels() == 8 ? dnnl::memory::format_tag::nChw8c
                                                        : dnnl::memory::format_tag::nChw16c);
  return PoolForwardDesc(g, dnnl::algorithm::pooling_max).workspace_desc() == bytes;
}

dnnl::pooling_backward::primitive_desc PoolBackwardDesc(
    const PoolGeometry& g, dnnl::algorithm algorithm,
    const dnnl::pooling_forward::primitive_desc& hint) {
  const Layout layout = PoolComputeLayout(g);
  dnnl::pooling_backward::desc desc(algorithm, DnnlDesc(g.x, layout), DnnlDesc(g.y_shape(), layout),
                                    Dims2(g.strides), Dims2(g.kernel), Dims2(g.pad_before),
                                    Dims2(g.pad_after));
  return dnnl::pooling_backward::primitive_desc(desc, UserScratchpad(), CpuEngine(), hint);
}

std::vector<std::pair<int, dnnl::memory>> PoolForwardArgs(
    DnnlKernel& kernel, const KernelContext& ctx, const PoolGeometry& g,
    const dnnl::pooling_forward::primitive_desc& pd) {
  return {{DNNL_ARG_SRC,
           kernel.Input(ctx.inputs[0], DnnlDesc(g.x, ctx.input_layouts[0]), pd.src_desc())},
          {DNNL_ARG_DST, kernel.Output(ctx.outputs[0], DnnlDesc(g.y_shape(), ctx.output_layouts[0]),
                                       pd.dst_desc())}};
}

std::vector<std::pair<int, dnnl::memory>> PoolBackwardArgs(
    DnnlKernel& kernel, const KernelContext& ctx, const PoolGeometry& g,
    const dnnl::pooling_backward::primitive_desc& pd) {
  return {
      {DNNL_ARG_DIFF_DST, kernel.Input(ctx.inputs[0], DnnlDesc(g.y_shape(), ctx.input_layouts[0]),
                                       pd.diff_dst_desc())},
      {DNNL_ARG_DIFF_SRC,
       kernel.Output(ctx.outputs[0], DnnlDesc(g.x, ctx.output_layouts[0]), pd.diff_src_desc())}};
}

}  // namespace flow

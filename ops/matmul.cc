// matmul: out = op(a) · op(b), float32, rank 2; op(t) = tᵀ when attr transpose_a / transpose_b.
//   a: (M, K), or (K, M) with transpose_a;  b: (K, N), or (N, K) with transpose_b  →  out: (M, N)
// Gradient (as TensorFlow's MatMul, each a matmul with transposes, so no transpose op runs):
//   plain:      da = dout · bᵀ       db = aᵀ · dout
//   transpose_a: da = b · doutᵀ      db = a · dout
//   transpose_b: da = dout · b       db = doutᵀ · a
//   both:       da = bᵀ · doutᵀ      db = doutᵀ · aᵀ
// Kernel: the oneDNN matmul primitive; a transpose is a strided (ba) memory descriptor of the
// same bytes.
#include "absl/strings/str_cat.h"
#include "framework/attr.h"
#include "framework/grad_context.h"
#include "framework/op_registry.h"
#include "ops/dnnl_kernel.h"

namespace flow {
namespace {

using tag = dnnl::memory::format_tag;

const char* BoolName(bool b) { return b ? "true" : "false"; }

absl::StatusOr<std::vector<BlobDesc>> MatmulShape(const ShapeContext& ctx) {
  for (int i = 0; i < 2; ++i) {
    if (auto s = ExpectFloat(ctx, i); !s.ok()) return s;
  }
  const Shape& a = ctx.inputs[0].shape;
  const Shape& b = ctx.inputs[1].shape;
  const bool ta = AttrBool(ctx.op, "transpose_a");
  const bool tb = AttrBool(ctx.op, "transpose_b");
  const auto transposes =
      absl::StrCat("transpose_a=", BoolName(ta), ", transpose_b=", BoolName(tb));
  if (a.rank() != 2 || b.rank() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(ctx.Where(), "input 'a' ", a.ToString(),
                                                   " and input 'b' ", b.ToString(),
                                                   " must both have rank 2"));
  }
  const int64_t m = ta ? a[1] : a[0];
  const int64_t k = ta ? a[0] : a[1];
  const int64_t k2 = tb ? b[1] : b[0];
  const int64_t n = tb ? b[0] : b[1];
  if (k != k2) {
    return absl::InvalidArgumentError(absl::StrCat(
        ctx.Where(), "inner dimensions differ: input 'a' ", a.ToString(), " gives K = ", k,
        " but input 'b' ", b.ToString(), " gives K = ", k2, " (", transposes, ")"));
  }
  return std::vector<BlobDesc>{{Shape({m, n}), DataType::kFloat}};
}

Blob Matmul(const GradContext& ctx, const Blob& a, const Blob& b, bool ta, bool tb) {
  return ctx.Op("matmul")
      .Input(a)
      .Input(b)
      .Attr("transpose_a", ta)
      .Attr("transpose_b", tb)
      .Build1();
}

void MatmulGrad(GradContext& ctx) {
  const bool ta = AttrBool(ctx.op(), "transpose_a");
  const bool tb = AttrBool(ctx.op(), "transpose_b");
  const Blob a = ctx.input(0);
  const Blob b = ctx.input(1);
  const Blob dout = ctx.output_grad(0);
  if (ctx.needs_input_grad(0)) {
    ctx.SetInputGrad(0, ta ? Matmul(ctx, b, dout, tb, true) : Matmul(ctx, dout, b, false, !tb));
  }
  if (ctx.needs_input_grad(1)) {
    ctx.SetInputGrad(1, tb ? Matmul(ctx, dout, a, true, ta) : Matmul(ctx, a, dout, !ta, false));
  }
}

// A memory over t's bytes; with `transposed`, t (R, C) is seen as its transpose (C, R).
dnnl::memory MatrixMemory(const Tensor& t, bool transposed) {
  const Shape& s = t.shape();
  const Shape logical = transposed ? Shape({s[1], s[0]}) : s;
  return dnnl::memory(DnnlDesc(logical, transposed ? tag::ba : tag::ab), CpuEngine(),
                      const_cast<void*>(t.raw_data()));
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeMatmulKernel(const KernelContext& ctx) {
  return CatchDnnl([&]() -> std::unique_ptr<Kernel> {
    dnnl::memory a = MatrixMemory(ctx.inputs[0], AttrBool(ctx.op, "transpose_a"));
    dnnl::memory b = MatrixMemory(ctx.inputs[1], AttrBool(ctx.op, "transpose_b"));
    dnnl::memory out = MatrixMemory(ctx.outputs[0], false);
    dnnl::matmul::primitive_desc pd({a.get_desc(), b.get_desc(), out.get_desc()}, CpuEngine());
    auto kernel = std::make_unique<DnnlKernel>();
    kernel->Add(dnnl::matmul(pd), {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, out}});
    return kernel;
  });
}

REGISTER_OP("matmul")
    .Input("a")
    .Input("b")
    .Output("out")
    .ShapeFn(MatmulShape)
    .GradFn(MatmulGrad)
    .KernelFn(MakeMatmulKernel);

}  // namespace
}  // namespace flow

// DnnlKernel's BatchChunks run as SpeculativeChunks (ops/dnnl_kernel.h): a chunk held by a stalled
// worker is run again by the caller, with the bits of a 1-thread run, and the worker's late result
// reaches neither a batched output (a data gradient) nor a summed one (a weight gradient).
#include "ops/dnnl_kernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>

#include "runtime/speculative_chunks.h"
#include "tests/testing/await_flag.h"
#include "tests/testing/gradcheck.h"

namespace flow {
namespace {

using Chunking = DnnlKernel::Chunking;
using tag = dnnl::memory::format_tag;
using testing::AwaitFlag;

// dy (N, O, H, W) and x (N, C, H, W), weight (O, C, K, K): 3×3 SAME, stride 1; 16 chunks of 2-3
// images.
constexpr int64_t kN = 37, kC = 8, kH = 9, kW = 9, kO = 16, kK = 3;

dnnl::memory::desc Desc(dnnl::memory::dims dims, tag t) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, t);
}

dnnl::convolution_forward::primitive_desc ForwardPd(int64_t n) {
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
      Desc({n, kC, kH, kW}, tag::nchw), Desc({kO, kC, kK, kK}, tag::oihw), Desc({kO}, tag::x),
      Desc({n, kO, kH, kW}, tag::nchw), {1, 1}, {1, 1}, {1, 1});
  return dnnl::convolution_forward::primitive_desc(desc, CpuEngine());
}

// conv2d_grad_data's primitive on `threads` threads' chunks: dy, weight → dx.
std::unique_ptr<DnnlKernel> DataGrad(const Tensor& dy, const Tensor& w, Tensor& dx, int threads) {
  auto k = std::make_unique<DnnlKernel>();
  DnnlKernel* kp = k.get();
  const bool chunked = k->AddBatchChunks<dnnl::convolution_backward_data>(
      kN, threads,
      [](int64_t n) {
        const dnnl::convolution_backward_data::desc desc(
            dnnl::algorithm::convolution_direct, Desc({n, kC, kH, kW}, tag::nchw),
            Desc({kO, kC, kK, kK}, tag::oihw), Desc({n, kO, kH, kW}, tag::nchw), {1, 1}, {1, 1},
            {1, 1});
        return dnnl::convolution_backward_data::primitive_desc(desc, UserScratchpad(), CpuEngine(),
                                                               ForwardPd(n));
      },
      {{DNNL_ARG_DIFF_DST, Chunking::kBatched,
        [&dy, kp](const auto& wanted) {
          return kp->Input(dy, DnnlDesc(dy.shape(), tag::nchw), wanted);
        }},
       {DNNL_ARG_WEIGHTS, Chunking::kWhole,
        [&w, kp](const auto& wanted) {
          return kp->Input(w, DnnlDesc(w.shape(), tag::oihw), wanted);
        }},
       {DNNL_ARG_DIFF_SRC, Chunking::kBatchedOutput, [&dx, kp](const auto& wanted) {
          return kp->Output(dx, DnnlDesc(dx.shape(), tag::nchw), wanted);
        }}});
  EXPECT_TRUE(chunked);
  return k;
}

// conv2d_grad_weight's primitive on `threads` threads' chunks: dy, x → dweight, dbias.
std::unique_ptr<DnnlKernel> WeightGrad(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& db,
                                       int threads) {
  auto k = std::make_unique<DnnlKernel>();
  DnnlKernel* kp = k.get();
  const bool chunked = k->AddBatchChunks<dnnl::convolution_backward_weights>(
      kN, threads,
      [](int64_t n) {
        const dnnl::convolution_backward_weights::desc desc(
            dnnl::algorithm::convolution_direct, Desc({n, kC, kH, kW}, tag::nchw),
            Desc({kO, kC, kK, kK}, tag::oihw), Desc({kO}, tag::x), Desc({n, kO, kH, kW}, tag::nchw),
            {1, 1}, {1, 1}, {1, 1});
        return dnnl::convolution_backward_weights::primitive_desc(desc, UserScratchpad(),
                                                                  CpuEngine(), ForwardPd(n));
      },
      {{DNNL_ARG_DIFF_DST, Chunking::kBatched,
        [&dy, kp](const auto& wanted) {
          return kp->Input(dy, DnnlDesc(dy.shape(), tag::nchw), wanted);
        }},
       {DNNL_ARG_SRC, Chunking::kBatched,
        [&x, kp](const auto& wanted) {
          return kp->Input(x, DnnlDesc(x.shape(), tag::nchw), wanted);
        }},
       {DNNL_ARG_DIFF_WEIGHTS, Chunking::kSummed,
        [&dw, kp](const auto& wanted) {
          return kp->Output(dw, DnnlDesc(dw.shape(), tag::oihw), wanted);
        }},
       {DNNL_ARG_DIFF_BIAS, Chunking::kSummed, [&db, kp](const auto& wanted) {
          return kp->Output(db, DnnlDesc(db.shape(), tag::x), wanted);
        }}});
  EXPECT_TRUE(chunked);
  return k;
}

// The hook: while armed, the caller holds chunk 0 until a worker has taken a chunk, and that
// worker stalls before computing it until the test releases it (standing in for the kernel
// taking the worker off the CPU).
std::atomic<bool> stall_armed{false}, worker_stalled{false}, release_worker{false};

void StallOneWorker(int64_t chunk, int slot) {
  if (slot == 0 && chunk == 0 && stall_armed.load()) AwaitFlag(worker_stalled);
  if (slot != 1) return;  // slot 2: the caller running the held chunk again
  bool armed = true;
  if (!stall_armed.compare_exchange_strong(armed, false)) return;
  worker_stalled = true;
  AwaitFlag(release_worker);
}

constexpr float kSentinel = 12345.0f;

bool AllSentinel(const Tensor& t) {
  return std::all_of(t.data<float>(), t.data<float>() + t.num_elements(),
                     [](float v) { return v == kSentinel; });
}

TEST(DnnlKernelTest, AChunkAStalledWorkerHoldsIsRunAgainAndItsLateResultIsDropped) {
  const Tensor x = testing::RandomTensor({kN, kC, kH, kW}, 1);
  const Tensor w = testing::RandomTensor({kO, kC, kK, kK}, 2);
  const Tensor dy = testing::RandomTensor({kN, kO, kH, kW}, 3);
  auto zeros = [](const Shape& s) { return Tensor(s, DataType::kFloat); };
  // The reference: the same chunks on 1 thread, in order.
  Tensor dx1 = zeros(x.shape()), dw1 = zeros(w.shape()), db1 = zeros(Shape({kO}));
  ASSERT_TRUE(DataGrad(dy, w, dx1, 1)->Run().ok());
  ASSERT_TRUE(WeightGrad(dy, x, dw1, db1, 1)->Run().ok());

  for (const bool weights : {false, true}) {
    SCOPED_TRACE(weights ? "conv2d_grad_weight" : "conv2d_grad_data");
    Tensor dx = zeros(x.shape()), dw = zeros(w.shape()), db = zeros(Shape({kO}));
    std::unique_ptr<DnnlKernel> kernel =
        weights ? WeightGrad(dy, x, dw, db, 2) : DataGrad(dy, w, dx, 2);
    worker_stalled = false;
    release_worker = false;
    stall_armed = true;
    SetChunkComputeHookForTesting(StallOneWorker);
    auto run = std::async(std::launch::async, [&] { return kernel->Run(); });
    const bool returned = run.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
    release_worker = true;
    ASSERT_TRUE(returned) << "Run waited for the stalled worker";
    ASSERT_TRUE(run.get().ok());
    EXPECT_TRUE(worker_stalled.load()) << "no worker took a chunk: nothing was run again";
    if (weights) {
      EXPECT_TRUE(dw.BitwiseEqual(dw1)) << "dweight differs from 1 thread's";
      EXPECT_TRUE(db.BitwiseEqual(db1)) << "dbias differs from 1 thread's";
    } else {
      EXPECT_TRUE(dx.BitwiseEqual(dx1)) << "dx differs from 1 thread's";
    }
    // The released worker computes its chunk late; nothing of it may land in the outputs, which
    // later ops would own by now.
    for (Tensor* t : {&dx, &dw, &db}) std::fill_n(t->data<float>(), t->num_elements(), kSentinel);
    kernel.reset();  // waits for the late worker
    SetChunkComputeHookForTesting(nullptr);
    EXPECT_TRUE(AllSentinel(dx)) << "the late worker wrote dx";
    EXPECT_TRUE(AllSentinel(dw) && AllSentinel(db)) << "the late worker wrote the weight gradient";
  }
}

}  // namespace
}  // namespace flow

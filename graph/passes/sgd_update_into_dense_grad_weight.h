// A compile-time fusion of train jobs: plain SGD on a dense layer's weight takes the weight
// gradient straight from the GEMM that makes it, so dW is never written out and read back.
//
//   before:  dW, db = dense_grad_weight(dy, x)           dy (N, units), x (N, in), dW (units, in)
//            sgd_update(W, dW, lr)                       (the update's place, after the backward)
//   after:   db = dense_grad_bias(dy)                    (dropped when db has no reader)
//            dense_grad_weight_sgd_update(W, dy, x, lr)  (in the update's place)
//
// A match needs dW to have no other reader (momentum, Adam, clipping by global norm and the
// data-parallel all-reduce all read it) and the update no grad_scale input. Exact, bit for bit:
// the fused kernel runs dense_grad_weight's GEMM in tiles with sgd_update's expression on each
// (ops/dense.cc). It runs where the update ran, after dense_grad_input's last read of W.
#pragma once

#include "proto/job.pb.h"

namespace flow {

// Rewrites every match in `job`; returns how many.
int FuseSgdUpdateIntoDenseGradWeight(flowrt::JobConf* job);

// Whether RunExactRewrites applies it: where oneDNN dispatches to AVX-512 (ONEDNN_MAX_CPU_ISA
// honoured), whose register tiles it is for. On AVX2 the fused op only runs sgemm into a buffer of
// its own and sgd_update's loop, and measured slower than the two ops it replaces (MLP, 2 threads,
// capped on AMD EPYC Zen 5: 1.04-1.09x the step).
bool SgdUpdateIntoDenseGradWeightPays();

}  // namespace flow

// OneFlow's flow.nn.* as job-side helpers: each emits ops into the job being recorded.
//
//   flow::Blob h = flow::nn::relu(x);                                      // same shape
//   flow::Blob p = flow::nn::max_pool2d(h, {2, 2}, {2, 2}, "SAME");          // (N,C,H,W) NCHW
//   flow::Blob loss = flow::nn::sparse_softmax_cross_entropy_with_logits(labels, logits); // (N,)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "framework/blob.h"

namespace flow::nn {

Blob relu(const Blob& x, absl::string_view name = "relu");
Blob sigmoid(const Blob& x, absl::string_view name = "sigmoid");
Blob tanh(const Blob& x, absl::string_view name = "tanh");
// Softmax over the last axis.
Blob softmax(const Blob& x, absl::string_view name = "softmax");
// x for x > 0, else alpha · x (OneFlow's flow.nn.leaky_relu, alpha 0.2). As a layer's activation,
// a captureless lambda fixes alpha:
//   .activation = [](const Blob& x, absl::string_view name) { return nn::leaky_relu(x, 0.1f, name);
//   }
Blob leaky_relu(const Blob& x, float alpha = 0.2f, absl::string_view name = "leaky_relu");

// Inverted dropout: x · mask / (1 − rate), mask ~ Bernoulli(1 − rate). Identity in predict jobs
// and for rate 0. The mask stream derives from (session seed or `seed`, train step, op name),
// so a resumed run draws the same masks as an uninterrupted one.
Blob dropout(const Blob& x, float rate, std::optional<int64_t> seed = std::nullopt,
             absl::string_view name = "dropout");

// Pooling over NCHW input. padding: "SAME" (OneFlow's SAME_LOWER: out = ceil(in/stride), the
// larger half of the padding before) or "VALID".
Blob max_pool2d(const Blob& x, const std::vector<int64_t>& ksize,
                const std::vector<int64_t>& strides, absl::string_view padding,
                absl::string_view data_format = "NCHW", absl::string_view name = "max_pool2d");
Blob avg_pool2d(const Blob& x, const std::vector<int64_t>& ksize,
                const std::vector<int64_t>& strides, absl::string_view padding,
                absl::string_view data_format = "NCHW", absl::string_view name = "avg_pool2d");

// Per-example loss vector (N,) of logits (N, C) against integer labels (N,) in [0, C).
Blob sparse_softmax_cross_entropy_with_logits(
    const Blob& labels, const Blob& logits,
    absl::string_view name = "sparse_softmax_cross_entropy");
// Per-example loss vector (N,) of logits (N, C) against dense labels (N, C), a distribution per
// row: −Σ_c labels · log_softmax(logits). Both inputs are differentiable.
Blob softmax_cross_entropy_with_logits(const Blob& labels, const Blob& logits,
                                       absl::string_view name = "softmax_cross_entropy");

}  // namespace flow::nn

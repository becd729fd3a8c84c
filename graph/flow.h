// flowrt: OneFlow's lazy job-function API in C++. The one header job authors include; with
// graph/checkpoint.h and data/mnist.h it is the installed API (no protobuf or oneDNN type
// in any of them). README.md "Writing a job in C++" has the whole program.
//
// clang-format off
//   auto train_job = flow::global_function("train_job", flow::JobType::kTrain,
//       [](flow::Blob images /*(100,1,28,28) f32*/, flow::Blob labels /*(100,) i32*/) {
//         flow::scope::Placement cpu("cpu", "0:0");
//         auto init = flow::truncated_normal(0.1);
//         auto x = flow::reshape(images, {images.shape()[0], -1});
//         auto hidden = flow::layers::dense(x, 512, {.activation = flow::nn::relu,
//                                                    .kernel_initializer = init, .name = "dense1"});
//         auto logits = flow::layers::dense(hidden, 10, {.kernel_initializer = init, .name = "dense2"});
//         auto loss = flow::nn::sparse_softmax_cross_entropy_with_logits(labels, logits);
//         flow::optimizer::SGD(flow::optimizer::PiecewiseConstantScheduler({}, {0.1}),
//                              {.momentum = 0}).minimize(loss);
//         return loss;
//       },
//       flow::Placeholder({100, 1, 28, 28}, flow::kFloat), flow::Placeholder({100}, flow::kInt32));
//   absl::StatusOr<flow::Tensor> loss = train_job(images, labels);
// clang-format on
#pragma once

#include "framework/blob.h"
#include "graph/get_variable.h"
#include "graph/global_function.h"
#include "graph/initializer.h"
#include "graph/layers.h"
#include "graph/math_ops.h"
#include "graph/nn.h"
#include "graph/optimizer.h"
#include "graph/predictor.h"
#include "graph/scope.h"
#include "graph/session.h"
#include "graph/watch.h"
#include "runtime/tensor.h"

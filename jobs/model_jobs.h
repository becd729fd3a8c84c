// The jobs `flowrt train`, `flowrt eval`, `flowrt time` and `flowrt graph` run for a model: one
// definition, so they never drift apart.
//
//   flow::Session session;
//   FLOWRT_ASSIGN_OR_RETURN(flow::JobFunction train_job,
//                    flow::jobs::BuildModelJob(session, "lenet", {.train = true}));
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/global_function.h"
#include "graph/session.h"

namespace flow::jobs {

struct ModelJobOptions {
  bool train = false;  // "train_job": loss, backward, SGD; else "eval_job" returning logits
  int batch_size = 100;
  float lr = 0.1f;
  float momentum = 0.0f;
  float clip_norm = 0.0f;  // SGDOptions::grad_clipping: clip by global norm; 0 = off
  float dropout = 0.5f;
};

// Builds and compiles, in `session`, the train job (images (B,1,28,28) f32, labels (B,) i32 →
// per-example loss (B,)) or the eval job (images → logits (B, 10)) of `model` ("lenet", "mlp",
// "mlp_finetune"). InvalidArgument for an unknown model or batch size.
absl::StatusOr<JobFunction> BuildModelJob(Session& session, absl::string_view model,
                                          const ModelJobOptions& options);

}  // namespace flow::jobs

// A compiled job as a Graphviz DOT graph, for `flowrt graph`:
//
//   flow::Session session;
//   FLOWRT_ASSIGN_OR_RETURN(flow::JobFunction job,
//                    flow::jobs::BuildModelJob(session, "lenet", {.train = true}));
//   std::string dot = flow::jobs::JobToDot(job);   // `dot -Tpng` renders it
//
// One node per op of the job as the executor runs it (after its exact rewrites) — its name, type
// and each output's shape and dtype ("blocked" when kept in oneDNN's channel-blocked layout
// between conv/pool ops, runtime/layout.h). Placeholders are blue
// parallelograms, variables khaki cylinders (they live outside the arena), forward ops white,
// backward ops (everything after the op producing the loss) orange, optimizer ops (updates, the
// learning-rate schedule, the train-step increment) red. Every activation is labelled with its
// arena offset `@offset`; blobs the memory planner placed at the same offset (they share bytes at
// different times) get the same colour on their producer's border and their edges, and a legend
// lists each shared offset with its blobs.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/global_function.h"
#include "graph/session.h"

namespace flow::jobs {

// The DOT text of a compiled job (requires job.compiled()).
std::string JobToDot(const JobFunction& job);

}  // namespace flow::jobs

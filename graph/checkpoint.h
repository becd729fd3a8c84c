// OneFlow's checkpoint API over a session's variables:
//
//   FLOWRT_RETURN_IF_ERROR(flow::checkpoint::save("./mlp_models_1"));           // every variable
//   FLOWRT_ASSIGN_OR_RETURN(auto snapshot, flow::checkpoint::get("./mlp_models_1"));
//   FLOWRT_ASSIGN_OR_RETURN(flow::LoadReport report, flow::load_variables(snapshot));
//
// The format layer (checkpoint/snapshot_writer.h, snapshot_reader.h) does the bytes; this file
// decides which variables and how they enter the session (the fit check: Session::CheckFits).
#pragma once

#include <map>
#include <string>

#include "checkpoint/snapshot_reader.h"
#include "graph/session.h"

namespace flow {

namespace config {
// OneFlow's flow.config.enable_legacy_model_io: true makes save() write the pre-0.3.2 layout
// (`out` only, no `meta`). Default false.
void enable_legacy_model_io(bool enable = true);
bool legacy_model_io_enabled();
}  // namespace config

namespace checkpoint {

using Snapshot = std::map<std::string, SnapshotVariable>;

// Saves every variable of `session` (weights, optimizer slots, train steps) at `path`, after
// compiling every job defined in it (as OneFlow's session init does). Under mpirun (a
// data-parallel session) every rank calls it: rank 0 writes, and every rank returns the outcome.
absl::Status save(const std::string& path, Session& session = Session::Default());
// Saves the given name → tensor dict (OneFlow's var_dict argument).
absl::Status save(const std::string& path, const std::map<std::string, Tensor>& var_dict);
// Lists the snapshot at `path` (lazily read). Refuses an incomplete snapshot unless allowed.
absl::StatusOr<Snapshot> get(const std::string& path, const GetOptions& options = {});

}  // namespace checkpoint

// OneFlow's flow.load_variables(flow.checkpoint.get(path)): compiles every job defined in the
// session that is not compiled yet (OneFlow's session init: their variables now exist), then
// loads every snapshot variable the session has (snapshots without `meta` take shape and dtype from
// the session's variable). Unknown names are ignored (reported as unexpected) when ignore_mismatch,
// else an error; a shape or dtype mismatch is always an error — it lists every variable that does
// not fit with both shapes and dtypes, then the session's variables the snapshot lacks and the
// snapshot's the session lacks (a snapshot of another job, at a glance). Reads and verifies
// everything before changing any variable, so a failed load changes nothing.
absl::StatusOr<LoadReport> load_variables(const checkpoint::Snapshot& snapshot,
                                          bool ignore_mismatch = true,
                                          Session& session = Session::Default());

}  // namespace flow

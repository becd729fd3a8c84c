#include "graph/checkpoint.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "checkpoint/file_io.h"
#include "checkpoint/snapshot_writer.h"
#include "runtime/communicator.h"
#include "runtime/status.h"

namespace flow {

namespace config {
namespace {
std::atomic<bool> legacy_model_io{false};
}  // namespace
void enable_legacy_model_io(bool enable) { legacy_model_io = enable; }
bool legacy_model_io_enabled() { return legacy_model_io; }
}  // namespace config

namespace checkpoint {

absl::Status save(const std::string& path, Session& session) {
  FLOWRT_RETURN_IF_ERROR(session.CompileDefinedJobs());  // OneFlow's session init, as for loading
  Communicator& world = Communicator::World();
  if (!session.options().data_parallel || !world.distributed()) {
    return save(path, session.get_all_variables());
  }
  // Data-parallel: the variables are replicated, so rank 0 alone writes (the same atomic
  // commit); every rank returns its outcome, so a failed save fails every rank alike.
  return world.Agree(world.rank() == 0 ? save(path, session.get_all_variables())
                                       : absl::OkStatus());
}

absl::Status save(const std::string& path, const std::map<std::string, Tensor>& var_dict) {
  std::vector<std::pair<std::string, Tensor>> variables(var_dict.begin(), var_dict.end());
  return SaveSnapshot(path, variables, {.legacy_layout = config::legacy_model_io_enabled()});
}

absl::StatusOr<Snapshot> get(const std::string& path, const GetOptions& options) {
  return GetSnapshot(path, options);
}

}  // namespace checkpoint

absl::StatusOr<LoadReport> load_variables(const checkpoint::Snapshot& snapshot,
                                          bool ignore_mismatch, Session& session) {
  // OneFlow's session init: every defined job gets its variables before they are filled.
  FLOWRT_RETURN_IF_ERROR(session.CompileDefinedJobs());
  std::map<std::string, OfferedVariable> offered;
  std::string root;
  for (const auto& [name, variable] : snapshot) {
    root = checkpoint::Dirname(variable.directory());
    // No meta (the legacy layout): ReadInto checks the size against the variable instead.
    offered[name] = variable.has_meta() ? OfferedVariable{variable.shape(), variable.dtype()}
                                        : OfferedVariable{};
  }
  FLOWRT_RETURN_IF_ERROR(session.CheckFits(offered, "snapshot", root));
  // Read every value into a staging tensor first (verifying sizes and CRCs), so a bad file
  // found half way leaves the session untouched; then hand the dict to the session's rules.
  std::map<std::string, Tensor> values;
  for (const auto& [name, variable] : snapshot) {
    Tensor* dst = session.FindVariable(name);
    if (dst == nullptr) {
      if (!ignore_mismatch) {
        return absl::NotFoundError(
            absl::StrCat("\"", name, "\" in ", variable.directory(), " is not a variable name"));
      }
      values.emplace(name, Tensor());  // reported as unexpected by the session
      continue;
    }
    Tensor staging(dst->shape(), dst->dtype());
    FLOWRT_RETURN_IF_ERROR(variable.ReadInto(&staging));
    values.emplace(name, std::move(staging));
  }
  return session.load_variables(values, /*ignore_mismatch=*/true);
}

}  // namespace flow

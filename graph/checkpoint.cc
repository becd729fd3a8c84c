#include "graph/checkpoint.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "checkpoint/file_io.h"
#include "checkpoint/snapshot_writer.h"
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
  return save(path, session.get_all_variables());
}

absl::Status save(const std::string& path, const std::map<std::string, Tensor>& var_dict) {
  std::vector<std::pair<std::string, Tensor>> variables(var_dict.begin(), var_dict.end());
  return SaveSnapshot(path, variables, {.legacy_layout = config::legacy_model_io_enabled()});
}

absl::StatusOr<Snapshot> get(const std::string& path, const GetOptions& options) {
  return GetSnapshot(path, options);
}

}  // namespace checkpoint

namespace {

// "a, b, c" — at most `limit` names, then "and N more".
std::string JoinNames(const std::vector<std::string>& names, size_t limit = 8) {
  if (names.size() <= limit) return absl::StrJoin(names, ", ");
  return absl::StrCat(absl::StrJoin(names.begin(), names.begin() + limit, ", "), " and ",
                      names.size() - limit, " more");
}

// A snapshot saved by another job rarely differs in one variable only: every variable whose meta
// disagrees with the session's is listed with both shapes and dtypes, followed by what the
// snapshot lacks and what only it has, so the user sees at once which job it came from.
absl::Status CheckFits(const checkpoint::Snapshot& snapshot, Session& session) {
  std::vector<std::string> misfits;
  std::string root;
  for (const auto& [name, variable] : snapshot) {
    root = checkpoint::Dirname(variable.directory());
    const Tensor* dst = session.FindVariable(name);
    if (dst == nullptr || !variable.has_meta()) continue;  // no meta: ReadInto checks the size
    if (variable.shape() == dst->shape() && variable.dtype() == dst->dtype()) continue;
    misfits.push_back(absl::StrCat(name, " (snapshot ", variable.shape().ToString(), " ",
                                   DataTypeName(variable.dtype()), ", here ",
                                   dst->shape().ToString(), " ", DataTypeName(dst->dtype()), ")"));
  }
  if (misfits.empty()) return absl::OkStatus();
  std::vector<std::string> missing, extra;
  for (const std::string& name : session.VariableNames()) {
    if (!snapshot.contains(name)) missing.push_back(name);
  }
  for (const auto& [name, variable] : snapshot) {
    if (session.FindVariable(name) == nullptr) extra.push_back(name);
  }
  std::string message =
      absl::StrCat("snapshot ", root,
                   " does not fit (was it saved by another job?): shape or dtype differs for ",
                   absl::StrJoin(misfits, "; "));
  if (!missing.empty()) absl::StrAppend(&message, "; not in the snapshot: ", JoinNames(missing));
  if (!extra.empty()) absl::StrAppend(&message, "; only in the snapshot: ", JoinNames(extra));
  return absl::InvalidArgumentError(message);
}

}  // namespace

absl::StatusOr<LoadReport> load_variables(const checkpoint::Snapshot& snapshot,
                                          bool ignore_mismatch, Session& session) {
  // OneFlow's session init: every defined job gets its variables before they are filled.
  FLOWRT_RETURN_IF_ERROR(session.CompileDefinedJobs());
  FLOWRT_RETURN_IF_ERROR(CheckFits(snapshot, session));
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

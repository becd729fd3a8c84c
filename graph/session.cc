#include "graph/session.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/status.h"

namespace flow {

Session::Session(SessionOptions options) : options_(options) {}

Session& Session::Default() {
  static auto* session = new Session();
  return *session;
}

absl::Status Session::CompileDefinedJobs() {
  while (!defined_jobs_.empty()) {
    FLOWRT_RETURN_IF_ERROR(defined_jobs_.front()());
    defined_jobs_.erase(defined_jobs_.begin());
  }
  return absl::OkStatus();
}

std::map<std::string, Tensor> Session::get_all_variables() const {
  std::map<std::string, Tensor> all;
  for (const auto& [name, value] : variables_) all.emplace(name, value);
  return all;
}

Tensor* Session::FindVariable(const std::string& name) {
  auto it = variables_.find(name);
  return it == variables_.end() ? nullptr : &it->second;
}

std::vector<std::string> Session::VariableNames() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : variables_) names.push_back(name);
  return names;
}

void Session::AddJob(const std::string& job_name, std::map<std::string, Tensor> new_variables) {
  FLOWRT_CHECK(job_names_.insert(job_name).second) << "job '" << job_name << "' added twice";
  for (auto& [name, value] : new_variables) {
    FLOWRT_CHECK(variables_.emplace(name, std::move(value)).second)
        << "variable '" << name << "' exists";
  }
}

absl::StatusOr<LoadReport> Session::load_variables(const std::map<std::string, Tensor>& values,
                                                   bool ignore_mismatch) {
  FLOWRT_RETURN_IF_ERROR(CompileDefinedJobs());
  LoadReport report;
  std::map<std::string, OfferedVariable> offered;
  for (const auto& [name, value] : values) {
    offered[name] = {value.shape(), value.dtype()};
    if (variables_.contains(name)) {
      report.loaded.push_back(name);
    } else if (!ignore_mismatch) {
      return absl::NotFoundError(absl::StrCat("\"", name, "\" is not a variable name"));
    } else {
      report.unexpected.push_back(name);
    }
  }
  FLOWRT_RETURN_IF_ERROR(CheckFits(offered, "values", ""));
  for (const std::string& name : report.loaded) variables_.at(name).CopyFrom(values.at(name));
  for (const auto& [name, value] : variables_) {
    if (!values.contains(name)) report.missing.push_back(name);
  }
  return report;
}

namespace {

// "a, b, c" — at most `limit` names, then "and N more".
std::string JoinNames(const std::vector<std::string>& names, size_t limit = 8) {
  if (names.size() <= limit) return absl::StrJoin(names, ", ");
  return absl::StrCat(absl::StrJoin(names.begin(), names.begin() + limit, ", "), " and ",
                      names.size() - limit, " more");
}

}  // namespace

// An offer made for another job rarely differs in one variable only: every misfit is listed with
// both shapes and dtypes, followed by what the offer lacks and what only it has, so the user sees
// at once which job it came from.
absl::Status Session::CheckFits(const std::map<std::string, OfferedVariable>& offered,
                                absl::string_view source, absl::string_view where) const {
  std::vector<std::string> misfits;
  for (const auto& [name, value] : offered) {
    auto it = variables_.find(name);
    if (it == variables_.end() || value.dtype == DataType::kInvalid) continue;
    const Tensor& dst = it->second;
    if (value.shape == dst.shape() && value.dtype == dst.dtype()) continue;
    misfits.push_back(absl::StrCat(name, " (", source, " ", value.shape.ToString(), " ",
                                   DataTypeName(value.dtype), ", here ", dst.shape().ToString(),
                                   " ", DataTypeName(dst.dtype()), ")"));
  }
  if (misfits.empty()) return absl::OkStatus();
  std::vector<std::string> missing, extra;
  for (const auto& [name, value] : variables_) {
    if (!offered.contains(name)) missing.push_back(name);
  }
  for (const auto& [name, value] : offered) {
    if (!variables_.contains(name)) extra.push_back(name);
  }
  std::string message = absl::StrCat(source, where.empty() ? "" : " ", where,
                                     " does not fit (was it saved by another job?): shape or dtype "
                                     "differs for ",
                                     absl::StrJoin(misfits, "; "));
  if (!missing.empty())
    absl::StrAppend(&message, "; not in the ", source, ": ", JoinNames(missing));
  if (!extra.empty()) absl::StrAppend(&message, "; only in the ", source, ": ", JoinNames(extra));
  return absl::InvalidArgumentError(message);
}

}  // namespace flow

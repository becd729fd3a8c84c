#include "graph/session.h"

#include "absl/strings/str_cat.h"
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
  for (const auto& [name, value] : values) {
    auto it = variables_.find(name);
    if (it == variables_.end()) {
      if (!ignore_mismatch) {
        return absl::NotFoundError(absl::StrCat("\"", name, "\" is not a variable name"));
      }
      report.unexpected.push_back(name);
      continue;
    }
    const Tensor& dst = it->second;
    if (value.shape() != dst.shape() || value.dtype() != dst.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot load variable '", name, "': the value has shape ", value.shape().ToString(), " ",
          DataTypeName(value.dtype()), " but the variable has shape ", dst.shape().ToString(), " ",
          DataTypeName(dst.dtype())));
    }
    report.loaded.push_back(name);
  }
  for (const std::string& name : report.loaded) variables_.at(name).CopyFrom(values.at(name));
  for (const auto& [name, value] : variables_) {
    if (!values.contains(name)) report.missing.push_back(name);
  }
  return report;
}

}  // namespace flow

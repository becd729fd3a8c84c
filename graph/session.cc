#include "graph/session.h"

#include "absl/strings/str_cat.h"
#include "graph/initializer.h"
#include "runtime/random.h"
#include "runtime/status.h"

namespace flow {
namespace {

Shape ShapeOf(const flowrt::VariableConf& conf) {
  return Shape(std::vector<int64_t>(conf.shape().dim().begin(), conf.shape().dim().end()));
}
DataType DtypeOf(const flowrt::VariableConf& conf) {
  return static_cast<DataType>(conf.data_type());
}

}  // namespace

Session::Session(SessionOptions options) : options_(options) {}

Session& Session::Default() {
  static auto* session = new Session();
  return *session;
}

std::map<std::string, Tensor> Session::get_all_variables() const {
  std::map<std::string, Tensor> all;
  for (const auto& [name, var] : variables_) all.emplace(name, var.value);
  return all;
}

Tensor* Session::FindVariable(const std::string& name) {
  auto it = variables_.find(name);
  return it == variables_.end() ? nullptr : &it->second.value;
}

const flowrt::VariableConf* Session::FindVariableConf(const std::string& name) const {
  auto it = variables_.find(name);
  return it == variables_.end() ? nullptr : &it->second.conf;
}

std::vector<std::string> Session::VariableNames() const {
  std::vector<std::string> names;
  for (const auto& [name, var] : variables_) names.push_back(name);
  return names;
}

uint64_t Session::VariableSeed(const flowrt::VariableConf& conf) const {
  if (conf.has_random_seed()) return static_cast<uint64_t>(conf.random_seed());
  return CombineSeeds(options_.seed, StableHash64(conf.name()));
}

absl::Status Session::AddJob(const flowrt::JobConf& job) {
  if (job_names_.contains(job.name())) {
    return absl::AlreadyExistsError(
        absl::StrCat("a job named '", job.name(), "' already exists in this session"));
  }
  // Check everything first; create nothing until all is known to fit.
  std::vector<Variable> created;
  for (const flowrt::VariableConf& conf : job.variable()) {
    auto it = variables_.find(conf.name());
    if (it != variables_.end()) {
      const Tensor& existing = it->second.value;
      if (existing.shape() != ShapeOf(conf) || existing.dtype() != DtypeOf(conf)) {
        return absl::InvalidArgumentError(
            absl::StrCat("job '", job.name(), "': variable '", conf.name(),
                         "' is declared with shape ", ShapeOf(conf).ToString(), " ",
                         DataTypeName(DtypeOf(conf)), " but another job declared it with shape ",
                         existing.shape().ToString(), " ", DataTypeName(existing.dtype())));
      }
      continue;
    }
    Variable var{conf, Tensor(ShapeOf(conf), DtypeOf(conf))};
    absl::Status status = InitializeTensor(conf.initializer(), VariableSeed(conf), &var.value);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("job '", job.name(), "': variable '",
                                                      conf.name(), "': ", status.message()));
    }
    created.push_back(std::move(var));
  }
  for (Variable& var : created) {
    const std::string name = var.conf.name();
    variables_.emplace(name, std::move(var));
  }
  job_names_.insert(job.name());
  return absl::OkStatus();
}

absl::StatusOr<LoadReport> Session::load_variables(const std::map<std::string, Tensor>& values,
                                                   bool ignore_mismatch) {
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
    const Tensor& dst = it->second.value;
    if (value.shape() != dst.shape() || value.dtype() != dst.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot load variable '", name, "': the value has shape ", value.shape().ToString(), " ",
          DataTypeName(value.dtype()), " but the variable has shape ", dst.shape().ToString(), " ",
          DataTypeName(dst.dtype())));
    }
    report.loaded.push_back(name);
  }
  for (const std::string& name : report.loaded) variables_.at(name).value.CopyFrom(values.at(name));
  for (const auto& [name, var] : variables_) {
    if (!values.contains(name)) report.missing.push_back(name);
  }
  return report;
}

}  // namespace flow

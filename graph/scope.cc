#include "graph/scope.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/job_builder.h"
#include "runtime/status.h"

namespace flow::scope {

Namespace::Namespace(const std::string& name) {
  JobBuilder* builder = JobBuilder::Current();
  FLOWRT_CHECK(builder != nullptr) << "flow::scope::Namespace outside a global_function body";
  builder->PushNamespace(name);
}

Namespace::~Namespace() { JobBuilder::Current()->PopNamespace(); }

Placement::Placement(const std::string& device_tag, const std::string& machine_device_ids) {
  JobBuilder* builder = JobBuilder::Current();
  FLOWRT_CHECK(builder != nullptr) << "flow::scope::Placement outside a global_function body";
  if (device_tag != "cpu" || !absl::StartsWith(machine_device_ids, "0:")) {
    builder->Fail(absl::UnimplementedError(
        absl::StrCat("placement (\"", device_tag, "\", \"", machine_device_ids,
                     "\"): flowrt runs on the CPU of one machine; use (\"cpu\", \"0:0\")")));
  }
}

}  // namespace flow::scope

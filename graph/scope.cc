#include "graph/scope.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "framework/job_builder.h"

namespace flow::scope {

Namespace::Namespace(const std::string& name) : builder_(JobBuilder::Current()) {
  if (builder_ != nullptr) builder_->PushNamespace(name);
}

Namespace::~Namespace() {
  if (builder_ != nullptr) builder_->PopNamespace();
}

Placement::Placement(const std::string& device_tag, const std::string& machine_device_ids) {
  JobBuilder* builder = JobBuilder::Current();
  if (builder == nullptr) return;  // as Namespace: every op built here fails on its own
  if (device_tag != "cpu" || !absl::StartsWith(machine_device_ids, "0:")) {
    builder->Fail(absl::UnimplementedError(
        absl::StrCat("placement (\"", device_tag, "\", \"", machine_device_ids,
                     "\"): flowrt runs on the CPU of one machine; use (\"cpu\", \"0:0\")")));
  }
}

}  // namespace flow::scope

// OneFlow's flow.scope.namespace and flow.scope.placement as RAII scopes inside a job body.
// (`namespace` is a C++ keyword, hence Namespace.)
//
//   { flow::scope::Namespace ns("block1");  // variables become "block1-<name>"
//     flow::scope::Placement cpu("cpu", "0:0"); ... }
//
// Outside a global_function body a scope does nothing: there is no job to record an error in,
// and every op built there already fails with "used outside a global_function body".
#pragma once

#include <string>

namespace flow {
class JobBuilder;
}  // namespace flow

namespace flow::scope {

class Namespace {
 public:
  explicit Namespace(const std::string& name);
  ~Namespace();
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

 private:
  JobBuilder* builder_;  // the job it pushed a name onto (popped from the same one), or null
};

// flowrt runs on CPUs: device "cpu" with machine:device "0:0" (or "0:0-N") is accepted;
// anything else ("gpu") is an error recorded in the job. The ids do not place anything: how
// many processes train data-parallel is mpirun's -np (README, "Training on several processes or
// machines"), so the same body runs unchanged on one rank or many.
class Placement {
 public:
  Placement(const std::string& device_tag, const std::string& machine_device_ids);
};

}  // namespace flow::scope

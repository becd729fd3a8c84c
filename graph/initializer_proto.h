// The OneFlow InitializerConf inside a flow::Initializer. Internal (not installed): get_variable
// writes it into the job IR's VariableConf, the session fills variables from it, tests look at
// its fields. Users only ever hold the proto-free flow::Initializer.
//
//   oneflow::InitializerConf conf = InitializerProto::Get(flow::truncated_normal(0.1));
//   flow::Initializer init = InitializerProto::Wrap(variable_conf.initializer());
#pragma once

#include "graph/initializer.h"
#include "proto/initializer_conf.pb.h"

namespace flow {

struct InitializerProto {
  static Initializer Wrap(oneflow::InitializerConf conf);
  // An empty conf (no type set) for Initializer().
  static const oneflow::InitializerConf& Get(const Initializer& initializer);
};

}  // namespace flow

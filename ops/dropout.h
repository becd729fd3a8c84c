// The range of dropout's rate, checked where a rate enters a job: nn::dropout (which emits no op
// in predict jobs, yet refuses a bad rate there as OneFlow does) and the dropout op's shape
// function (ops/dropout.cc). Callers put their context in front of the message.
//
//   FLOWRT_RETURN_IF_ERROR(CheckDropoutRate(rate));   // "rate 1.5 must be in [0, 1)"
#pragma once

#include "absl/status/status.h"

namespace flow {

// OK for a rate in [0, 1); else InvalidArgument "rate <rate> must be in [0, 1)".
absl::Status CheckDropoutRate(float rate);

}  // namespace flow

// Running commands from tests, as a user would run them in a shell: the flowrt CLI end to end,
// gnuplot, numpy, a pseudo-terminal through `script`.
//
//   CommandResult r = RunFlowrt("train --epoch=1");        // stdout and stderr, exit code
//   EXPECT_EQ(r.exit_code, 2);
//   CommandResult s = Shell(absl::StrCat(FlowrtBinary(), " graph --job=mlp --dot=g.dot"));
#pragma once

#include <string>

namespace flow::testing {

struct CommandResult {
  int exit_code = -1;  // -1 if the command could not be started or did not exit normally
  std::string output;  // what it wrote to stdout (redirect stderr in `command` to see it too)
};

// `command` through /bin/sh.
CommandResult Shell(const std::string& command);

// The flowrt CLI of this build (FLOWRT_BINARY_DIR/tools/flowrt).
std::string FlowrtBinary();

// `flowrt <args> 2>&1`.
CommandResult RunFlowrt(const std::string& args);

}  // namespace flow::testing

#include "tests/testing/command.h"

#include <sys/wait.h>

#include <cstdio>

namespace flow::testing {

CommandResult Shell(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string FlowrtBinary() { return std::string(FLOWRT_BINARY_DIR) + "/tools/flowrt"; }

CommandResult RunFlowrt(const std::string& args) {
  return Shell(FlowrtBinary() + " " + args + " 2>&1");
}

}  // namespace flow::testing

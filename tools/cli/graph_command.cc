// flowrt graph: the compiled job as Graphviz (report/graph_dot.h).
//   flowrt graph --job=lenet [--train] --dot=lenet.dot [--png=lenet.png]
// --train shows the train job (forward, backward, SGD updates, train-step increment) with the
// train flags' --batch_size, --lr, --momentum, --clip_norm and --dropout; otherwise the eval job.
// --png runs `dot -Tpng` (Debian's graphviz, which tools/setup.sh installs).
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "checkpoint/file_io.h"
#include "graph/compiled_job.h"
#include "jobs/model_jobs.h"
#include "report/graph_dot.h"
#include "tools/cli/commands.h"
#include "tools/cli/training_flags.h"

ABSL_FLAG(std::string, dot, "", "graph: the DOT file to write (default: stdout unless --png)");
ABSL_FLAG(std::string, png, "", "graph: also render a PNG with Graphviz's dot -Tpng");
ABSL_FLAG(bool, train, false, "graph: show the train job (backward and optimizer ops too)");
// Defined in train_command.cc.
ABSL_DECLARE_FLAG(std::string, job);
ABSL_DECLARE_FLAG(int32_t, batch_size);

namespace flow::cli {
namespace {

// Runs `dot -Tpng -o png dot_file` without a shell; the error says how to get Graphviz.
absl::Status RenderPng(const std::string& dot_file, const std::string& png) {
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::execlp("dot", "dot", "-Tpng", "-Gdpi=96", "-o", png.c_str(), dot_file.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return absl::InternalError("waitpid failed");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return absl::FailedPreconditionError(
        "Graphviz's 'dot' is not installed (apt-get install graphviz, or bash tools/setup.sh)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("dot -Tpng failed writing ", png));
  }
  return absl::OkStatus();
}

}  // namespace

int RunGraph(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return Fail("graph", absl::InvalidArgumentError(absl::StrCat(
                             "unexpected argument '", args[0],
                             "'; usage: flowrt graph --job=lenet|mlp|mlp_finetune [--train] "
                             "--dot=FILE [--png=FILE]")));
  }
  absl::StatusOr<jobs::ModelJobOptions> options = ReadTrainingFlags();
  if (!options.ok()) return Fail("graph", options.status());
  options->train = absl::GetFlag(FLAGS_train);
  Session session;
  absl::StatusOr<JobFunction> job =
      jobs::BuildModelJob(session, absl::GetFlag(FLAGS_job), *options);
  if (!job.ok()) return Fail("graph", job.status());
  const std::string dot = jobs::JobToDot(*job);
  std::string dot_file = absl::GetFlag(FLAGS_dot);
  const std::string png = absl::GetFlag(FLAGS_png);
  if (dot_file.empty() && png.empty()) {
    std::cout << dot;
    return 0;
  }
  for (const std::string& file : {dot_file, png}) {
    if (file.empty()) continue;
    absl::Status made = checkpoint::EnsureParentDirectory(file);
    if (!made.ok()) return Fail("graph", made);
  }
  const bool temp_dot = dot_file.empty();
  if (temp_dot) dot_file = absl::StrCat(png, ".dot.tmp-", ::getpid());
  {
    std::ofstream out(dot_file, std::ios::binary | std::ios::trunc);
    out << dot;
    out.close();
    if (!out) return Fail("graph", absl::PermissionDeniedError("cannot write " + dot_file));
  }
  if (!temp_dot)
    std::cout << "wrote " << dot_file << " (" << CompiledJob::Job(*job).op_size() << " ops)\n";
  if (!png.empty()) {
    absl::Status status = RenderPng(dot_file, png);
    if (temp_dot) ::unlink(dot_file.c_str());
    if (!status.ok()) return Fail("graph", status);
    std::cout << "wrote " << png << "\n";
  }
  return 0;
}

}  // namespace flow::cli

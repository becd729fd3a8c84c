// flowrt: train, evaluate and inspect OneFlow-style jobs and snapshots from the shell.
//
//   flowrt train --job=lenet --data=data/mnist --epochs=1 --save=lenet_models_1
//   flowrt eval  --job=lenet --data=data/mnist --load=lenet_models_1
//   flowrt ckpt inspect lenet_models_1 --stats
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "runtime/communicator.h"
#include "runtime/openmp_wait_policy.h"
#include "tools/cli/commands.h"

namespace {

constexpr char kUsage[] =
    "flowrt <command> [flags]\n"
    "commands:\n"
    "  train   --job=lenet|mlp|mlp_finetune --data=DIR [--epochs=N|--steps=N] [--save=DIR] ...\n"
    "  eval    --job=... --load=SNAPSHOT --data=DIR\n"
    "  predict --job=... --load=SNAPSHOT [--top_k=3] [--json] FILE.png|FILE.pgm|IDX...\n"
    "  ckpt    inspect SNAPSHOT [--stats] [--json] | verify SNAPSHOT | diff A B\n"
    "          export SNAPSHOT --npz=FILE | import FILE.npz SNAPSHOT\n"
    "          export SNAPSHOT --job=lenet|mlp|mlp_finetune --onnx=FILE\n"
    "  graph   --job=lenet|mlp|mlp_finetune [--train] --dot=FILE [--png=FILE]\n"
    "  plot    metrics.csv [more.csv ...] -o curves.png\n"
    "  time    --job=lenet|mlp|mlp_finetune [--iterations=50] [--threads=T]: per-op ms\n"
    "Run 'flowrt --helpfull' for every flag.";

// Edit distance, for "did you mean".
size_t Distance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (a[i - 1] != b[j - 1]);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

// Absl would print "Unknown command line flag 'epoch'" and exit 1. flowrt names the flag,
// suggests the closest of its own flags, lists them all with their help, and exits 2.
bool CheckFlagsAreKnown(int argc, char** argv) {
  std::map<std::string, const absl::CommandLineFlag*> own;  // flowrt's, not absl's built-ins
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "tools/cli/")) own.emplace(std::string(name), flag);
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) continue;
    const absl::string_view name = arg.substr(0, arg.find('='));
    if (name.empty() || absl::FindCommandLineFlag(name) != nullptr) continue;
    // absl's usage flags are handled by the parser without being registered flags.
    if (absl::StartsWith(name, "help") || name == "version" || name == "only_check_args") continue;
    absl::string_view positive = name;
    if (absl::ConsumePrefix(&positive, "no")) {
      const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(positive);
      if (flag != nullptr && flag->IsOfType<bool>()) continue;
    }
    std::string closest;
    size_t best = 3;  // suggest only within two edits
    for (const auto& [candidate, flag] : own) {
      const size_t d = Distance(name, candidate);
      if (d < best) best = d, closest = candidate;
    }
    std::cerr << "flowrt: unknown flag --" << name;
    if (!closest.empty()) std::cerr << " (did you mean --" << closest << "?)";
    std::cerr << "\nflowrt's flags:\n";
    for (const auto& [candidate, flag] : own) {
      std::cerr << absl::StrFormat("  --%-16s %s", candidate, flag->Help());
      if (!flag->DefaultValue().empty()) std::cerr << " [" << flag->DefaultValue() << "]";
      std::cerr << "\n";
    }
    std::cerr << kUsage << "\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  flow::UseBoundedOpenMpWait(argv);
  absl::SetProgramUsageMessage(kUsage);
  if (!CheckFlagsAreKnown(argc, argv)) return 2;
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  const std::string command = positional[1];
  const std::vector<std::string> args(positional.begin() + 2, positional.end());
  // Under mpirun: finalize MPI, or end every rank when this one failed alone (no hang).
  if (command == "train") return flow::Communicator::Finish(flow::cli::RunTrain(args));
  if (command == "eval") return flow::Communicator::Finish(flow::cli::RunEval(args));
  if (command == "predict") return flow::cli::RunPredict(args);
  if (command == "ckpt") return flow::cli::RunCkpt(args);
  if (command == "plot") return flow::cli::RunPlot(args);
  if (command == "graph") return flow::cli::RunGraph(args);
  if (command == "time") return flow::cli::RunTime(args);
  std::cerr << "flowrt: unknown command '" << command << "'\n" << kUsage << "\n";
  return 2;
}

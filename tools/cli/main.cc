// flowrt: train, evaluate and inspect OneFlow-style jobs and snapshots from the shell.
//
//   flowrt train --job=lenet --data=data/mnist --epochs=1 --save=lenet_models_1
//   flowrt eval  --job=lenet --data=data/mnist --load=lenet_models_1
//   flowrt ckpt inspect lenet_models_1 --stats
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/cli/commands.h"

namespace {

constexpr char kUsage[] =
    "flowrt <command> [flags]\n"
    "commands:\n"
    "  train   --job=lenet|mlp|mlp_finetune --data=DIR [--epochs=N|--steps=N] [--save=DIR] ...\n"
    "  eval    --job=... --load=SNAPSHOT --data=DIR\n"
    "  ckpt    inspect SNAPSHOT [--stats] [--json] | verify SNAPSHOT | diff A B\n"
    "          export SNAPSHOT --npz=FILE | import FILE.npz SNAPSHOT\n"
    "  graph   --job=lenet|mlp|mlp_finetune [--train] --dot=FILE [--png=FILE]\n"
    "  plot    metrics.csv [more.csv ...] -o curves.png\n"
    "  time    --job=lenet|mlp|mlp_finetune [--iterations=50] [--threads=T]: per-op ms\n"
    "Run 'flowrt --helpfull' for every flag.";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  const std::string command = positional[1];
  const std::vector<std::string> args(positional.begin() + 2, positional.end());
  if (command == "train") return flow::cli::RunTrain(args);
  if (command == "eval") return flow::cli::RunEval(args);
  if (command == "ckpt") return flow::cli::RunCkpt(args);
  if (command == "plot") return flow::cli::RunPlot(args);
  if (command == "graph") return flow::cli::RunGraph(args);
  if (command == "time") return flow::cli::RunTime(args);
  std::cerr << "flowrt: unknown command '" << command << "'\n" << kUsage << "\n";
  return 2;
}

// The flowrt CLI's subcommands. Each takes the positional arguments after its name (flags are
// already parsed by absl) and returns the process exit code; errors are printed as one line.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace flow::cli {

int RunTrain(const std::vector<std::string>& args);
int RunEval(const std::vector<std::string>& args);
int RunCkpt(const std::vector<std::string>& args);
// `plot metrics.csv [more.csv ...] -o curves.png` (plot_command.cc).
int RunPlot(const std::vector<std::string>& args);
// `ckpt export SNAPSHOT --npz=FILE` / `ckpt import FILE.npz SNAPSHOT` (npz_command.cc); args
// exclude the verb.
int RunCkptExport(const std::vector<std::string>& args);
int RunCkptImport(const std::vector<std::string>& args);
// `ckpt export SNAPSHOT --job=... --onnx=FILE` (onnx_command.cc), chosen when --onnx is given.
bool OnnxExportRequested();
int RunCkptExportOnnx(const std::vector<std::string>& args);
// `graph --job=... [--train] --dot=FILE [--png=FILE]` (graph_command.cc).
int RunGraph(const std::vector<std::string>& args);
// `predict --job=... --load=SNAPSHOT FILE...` (predict_command.cc): top-k classes per image.
int RunPredict(const std::vector<std::string>& args);
// flowrt time: per-op ms of a training step (report/op_profile.h).
int RunTime(const std::vector<std::string>& args);

// Prints "flowrt <command>: <message>" to stderr and returns 1 (or 2 for usage errors).
int Fail(const std::string& command, const absl::Status& status);

}  // namespace flow::cli

// flowrt ckpt export / import: a snapshot to and from NumPy's .npz (checkpoint/npz.h).
//   flowrt ckpt export SNAPSHOT --npz=FILE     every variable as FILE's `<name>.npy`
//   flowrt ckpt import FILE.npz SNAPSHOT       every array as a variable of a new snapshot
#include <iostream>

#include "absl/flags/flag.h"
#include "checkpoint/npz.h"
#include "checkpoint/snapshot_writer.h"
#include "graph/checkpoint.h"
#include "tools/cli/commands.h"

ABSL_FLAG(std::string, npz, "", "ckpt export: the .npz file to write");

namespace flow::cli {

int RunCkptExport(const std::vector<std::string>& args) {
  const std::string npz = absl::GetFlag(FLAGS_npz);
  if (args.size() != 1 || npz.empty()) {
    return Fail("ckpt export",
                absl::InvalidArgumentError("usage: flowrt ckpt export SNAPSHOT --npz=FILE"));
  }
  absl::StatusOr<checkpoint::Snapshot> snapshot = checkpoint::get(args[0]);
  if (!snapshot.ok()) return Fail("ckpt export", snapshot.status());
  checkpoint::NamedTensors arrays;
  for (const auto& [name, var] : *snapshot) {
    if (!var.has_meta()) {
      return Fail("ckpt export",
                  absl::FailedPreconditionError(
                      "variable \"" + name + "\" in " + args[0] +
                      " has no meta (OneFlow <= 0.3.1 layout): its shape and dtype are unknown"));
    }
    absl::StatusOr<Tensor> value = var.Read();
    if (!value.ok()) return Fail("ckpt export", value.status());
    arrays.emplace_back(name, *std::move(value));
  }
  absl::Status status = checkpoint::WriteNpz(npz, arrays);
  if (!status.ok()) return Fail("ckpt export", status);
  std::cout << "exported " << arrays.size() << " variables from " << args[0] << " to " << npz
            << "\n";
  return 0;
}

int RunCkptImport(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    return Fail("ckpt import",
                absl::InvalidArgumentError("usage: flowrt ckpt import FILE.npz SNAPSHOT"));
  }
  absl::StatusOr<checkpoint::NamedTensors> arrays = checkpoint::ReadNpz(args[0]);
  if (!arrays.ok()) return Fail("ckpt import", arrays.status());
  absl::Status status = checkpoint::SaveSnapshot(args[1], *arrays);
  if (!status.ok()) return Fail("ckpt import", status);
  std::cout << "imported " << arrays->size() << " arrays from " << args[0] << " to " << args[1]
            << "\n";
  return 0;
}

}  // namespace flow::cli

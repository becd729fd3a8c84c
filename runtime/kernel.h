// The executor's unit of work. A kernel is created once, at compile time, with every tensor it
// touches already bound to its final address (arena, variable store); Run() then only computes:
// no allocation, no proto access, no look-ups. Ops (ops/*.cc) implement kernels.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "proto/job.pb.h"
#include "runtime/layout.h"
#include "runtime/tensor.h"

namespace flow {

// What a kernel may read of the running job besides its tensors.
struct ExecEnv {
  bool is_train = false;
  uint64_t session_seed = 0;
  // The job's train-step counter (int64, completed iterations), or null in predict jobs. Read at
  // Run() time: dropout derives its mask stream from (seed, step, op).
  const int64_t* train_step = nullptr;
  // Data-parallel: the index of this process's slice of the global batch along axis 0 (its
  // rank; 0 in one process). Its tensors are rows [shard·b, (shard+1)·b) of the global ones, so
  // a batch-major tensor of n elements starts at global element shard·n (dropout's masks).
  int64_t shard = 0;
};

// Everything a kernel factory sees. The OpConf is only read here, never in Run().
struct KernelContext {
  const flowrt::OpConf& op;
  std::vector<Tensor> inputs;   // views at fixed addresses, in the op's input order
  std::vector<Tensor> outputs;  // views at fixed addresses, in the op's output order
  const ExecEnv& env;
  // How each tensor is stored; kBlocked only where the op's schema allows it (BlockedLayout).
  std::vector<Layout> input_layouts;
  std::vector<Layout> output_layouts;
  // Per output: whether a later op reads it or the job fetches it. An output nobody reads (max
  // pooling's workspace in an eval job) need not be written. Empty = every output is read.
  std::vector<bool> output_read;

  bool OutputRead(int i) const { return output_read.empty() || output_read[i]; }

  template <typename T>
  const T* in(int i) const {
    return inputs[i].data<T>();
  }
  // Output buffers are the kernel's to write, though the context is const.
  template <typename T>
  T* out(int i) const {
    return const_cast<T*>(outputs[i].data<T>());
  }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Computes the outputs. Returns an error only for bad data a user can feed (a label out of
  // range); building an OK status allocates nothing.
  virtual absl::Status Run() = 0;
};

}  // namespace flow

// The processes of a data-parallel run (`mpirun -np N flowrt train ...`) and the few MPI
// collectives flowrt needs. MPI is initialized lazily, and only when the process was started by
// an MPI launcher (Open MPI's mpirun, MPICH's hydra): a plain run never touches MPI and is one
// rank, exactly as before. Internal (not installed): the public API never names MPI.
//
//   flow::Communicator& world = flow::Communicator::World();
//   if (world.size() > 1) world.Broadcast(weights.raw_data(), weights.bytes(), /*root=*/0);
//   FLOWRT_RETURN_IF_ERROR(world.Agree(status));   // one rank's error fails every rank
//   return flow::Communicator::Finish(exit_code);   // MPI_Finalize, or MPI_Abort on a lone error
//
// Only the MPI-3.1 C API is used (MPI_Init_thread, MPI_Iallreduce with MPI_IN_PLACE, MPI_Bcast,
// MPI_Allgather, MPI_Test), so MPICH works as well as Open MPI.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace flow {

class Communicator {
 public:
  // The world of this process: size() == 1 unless started by an MPI launcher.
  static Communicator& World();

  int size() const { return size_; }
  int rank() const { return rank_; }
  bool distributed() const { return size_ > 1; }

  // Starts an in-place sum of data[0, n) over every rank (MPI_Iallreduce). The buffer must stay
  // untouched until Wait(data). One pending reduction per buffer.
  void StartAllreduceSum(float* data, int64_t n);
  // Blocks until the reduction started on `data` is done; returns at once if none is pending.
  void Wait(const float* data);
  // Lets pending reductions progress (MPI_Test on each): the executor calls it between kernels.
  void Progress();
  bool HasPending() const { return !pending_.empty(); }

  // MPI_Bcast of `bytes` bytes from `root`.
  void Broadcast(void* data, int64_t bytes, int root = 0);
  void Broadcast(std::string* s, int root = 0);
  // Every rank's value, in rank order (MPI_Allgather).
  std::vector<uint64_t> Allgather(uint64_t value);
  // MPI_Allgather of `bytes` bytes per rank into recv (size() * bytes, rank order).
  void Allgather(const void* send, int64_t bytes, void* recv);

  // Collective: OK on every rank iff `local` is OK on every rank; otherwise every rank returns
  // the error of the lowest failing rank, prefixed with that rank ("rank 1 of 2: ..."). Marks
  // the failure as agreed, so Finish() can end the run cleanly. A plain run returns `local`.
  absl::Status Agree(const absl::Status& local);

  // Ends MPI for a command returning `exit_code`: MPI_Finalize when the run succeeded or every
  // rank agreed on its failure (Agree); otherwise this rank failed alone while the others may
  // wait in a collective, so MPI_Abort ends them all instead of leaving them hanging.
  // Does nothing (and never initializes MPI) in a plain run.
  static int Finish(int exit_code);

  // Seconds this process spent blocked in Wait() (waiting for gradients), for the benchmark.
  double wait_seconds() const { return wait_seconds_; }

 private:
  Communicator();
  int size_ = 1;
  int rank_ = 0;
  bool agreed_failure_ = false;
  struct Pending;
  std::vector<Pending*> pending_;
  double wait_seconds_ = 0;
};

}  // namespace flow

#include "runtime/communicator.h"

// The C API only: Open MPI's mpi.h would otherwise pull in its deprecated C++ bindings (and
// libmpi_cxx), MPICH's likewise.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace flow {
namespace {

// Set by Open MPI's mpirun (OMPI_*, PMIX_*) and MPICH's hydra (PMI_*): this process is one rank of
// a launched job. Without them MPI is never initialized, so a plain run stays exactly as it was
// (an MPI singleton would work too, but Open MPI then forks a daemon at startup).
bool LaunchedByMpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

bool MpiActive() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

// A program that never calls Finish (the examples) still finalizes on a normal exit.
void FinalizeAtExit() {
  if (MpiActive()) MPI_Finalize();
}

void Check(int code, const char* what) {
  FLOWRT_CHECK(code == MPI_SUCCESS) << what << " failed with MPI error " << code;
}

int Count(int64_t n, const char* what) {
  FLOWRT_CHECK(n >= 0 && n <= INT_MAX)
      << what << " of " << n << " elements exceeds MPI's int count";
  return static_cast<int>(n);
}

}  // namespace

struct Communicator::Pending {
  const float* data;
  MPI_Request request;
};

Communicator& Communicator::World() {
  static Communicator* world = new Communicator();
  return *world;
}

Communicator::Communicator() {
  if (!LaunchedByMpi()) return;
  int provided = 0;
  // Kernels parallelize with OpenMP, but only the executor's thread calls MPI.
  Check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  std::atexit(FinalizeAtExit);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
}

void Communicator::StartAllreduceSum(float* data, int64_t n) {
  if (size_ == 1) return;
  auto* pending = new Pending{data, MPI_REQUEST_NULL};
  Check(MPI_Iallreduce(MPI_IN_PLACE, data, Count(n, "MPI_Iallreduce"), MPI_FLOAT, MPI_SUM,
                       MPI_COMM_WORLD, &pending->request),
        "MPI_Iallreduce");
  pending_.push_back(pending);
}

void Communicator::Wait(const float* data) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [data](const Pending* p) { return p->data == data; });
  if (it == pending_.end()) return;
  const auto start = std::chrono::steady_clock::now();
  Check(MPI_Wait(&(*it)->request, MPI_STATUS_IGNORE), "MPI_Wait");
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  delete *it;
  pending_.erase(it);
}

void Communicator::Progress() {
  for (Pending* p : pending_) {
    int done = 0;
    // A completed request becomes MPI_REQUEST_NULL, and MPI_Wait on it returns at once.
    Check(MPI_Test(&p->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
  }
}

void Communicator::Broadcast(void* data, int64_t bytes, int root) {
  if (size_ == 1) return;
  char* p = static_cast<char*>(data);
  while (bytes > 0) {  // MPI counts are int: a huge variable goes in pieces
    const int chunk = static_cast<int>(std::min<int64_t>(bytes, INT_MAX));
    Check(MPI_Bcast(p, chunk, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    p += chunk;
    bytes -= chunk;
  }
}

void Communicator::Broadcast(std::string* s, int root) {
  if (size_ == 1) return;
  uint64_t length = s->size();
  Broadcast(&length, sizeof(length), root);
  s->resize(length);
  Broadcast(s->data(), static_cast<int64_t>(length), root);
}

std::vector<uint64_t> Communicator::Allgather(uint64_t value) {
  std::vector<uint64_t> all(size_, value);
  Allgather(&value, sizeof(value), all.data());
  return all;
}

void Communicator::Allgather(const void* send, int64_t bytes, void* recv) {
  if (size_ == 1) {
    std::copy_n(static_cast<const char*>(send), bytes, static_cast<char*>(recv));
    return;
  }
  const int count = Count(bytes, "MPI_Allgather");
  Check(MPI_Allgather(send, count, MPI_BYTE, recv, count, MPI_BYTE, MPI_COMM_WORLD),
        "MPI_Allgather");
}

absl::Status Communicator::Agree(const absl::Status& local) {
  if (size_ == 1) return local;
  const std::vector<uint64_t> codes = Allgather(static_cast<uint64_t>(local.code()));
  const auto failed = std::find_if(codes.begin(), codes.end(), [](uint64_t c) { return c != 0; });
  if (failed == codes.end()) return absl::OkStatus();
  const int root = static_cast<int>(failed - codes.begin());
  std::string message(local.message());
  Broadcast(&message, root);
  agreed_failure_ = true;
  return absl::Status(static_cast<absl::StatusCode>(*failed),
                      absl::StrCat("rank ", root, " of ", size_, ": ", message));
}

int Communicator::Finish(int exit_code) {
  if (!MpiActive()) return exit_code;
  if (exit_code == 0 || World().agreed_failure_) {
    MPI_Finalize();
  } else {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
  }
  return exit_code;
}

}  // namespace flow

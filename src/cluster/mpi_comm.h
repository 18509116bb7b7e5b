// The narrow boundary to MPI: only mpi_comm.cc includes <mpi.h>, and only in a build with an MPI
// library (RAPID_WITH_MPI); without one, Init says so and rapid runs as one process. Messages are
// byte strings with a tag, point to point on MPI_COMM_WORLD.
// Thread safety: MPI is initialised with MPI_THREAD_FUNNELED: every method from the thread that
// called Init (the process's main thread), and from no other.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"

namespace rapid {

// Whether an MPI launcher started this process (mpirun/mpiexec of Open MPI or MPICH, or Slurm's
// srun with more than one task): it leaves its variables in the environment.
bool LaunchedByMpiLauncher();

class MpiComm {
 public:
  // MPI_Init_thread asking for MPI_THREAD_FUNNELED. InvalidArgument when the library offers
  // less, or when rapid was built without MPI.
  static Status Init(std::unique_ptr<MpiComm>* comm);
  ~MpiComm();  // MPI_Finalize
  MpiComm(const MpiComm&) = delete;
  MpiComm& operator=(const MpiComm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Among the ranks on this host (MPI_COMM_TYPE_SHARED): this one's index and their number.
  int node_rank() const { return node_rank_; }
  int node_size() const { return node_size_; }
  const std::string& host() const { return host_; }
  // Whether rank 0 runs on this host.
  bool node_has_rank0() const { return node_has_rank0_; }
  // Whether every rank on this host started with the same CPU affinity (the launcher did not
  // bind them apart: they must share the CPUs out themselves).
  bool node_shares_affinity() const { return node_shares_affinity_; }

  void Send(int to, int tag, const std::string& message);
  // A message from any rank with any tag, waiting at most `wait` (polling); false when none came.
  bool Receive(std::chrono::milliseconds wait, int* from, int* tag, std::string* message);
  // A message from `from` with `tag`, waiting as long as it takes (polling, without spinning a core).
  std::string ReceiveFrom(int from, int tag);
  // Ends every rank of the job (MPI_Abort) with `code`.
  [[noreturn]] void Abort(int code);

 private:
  MpiComm() = default;
  int rank_ = 0, size_ = 1, node_rank_ = 0, node_size_ = 1;
  bool node_has_rank0_ = true, node_shares_affinity_ = true;
  std::string host_;
};

}  // namespace rapid

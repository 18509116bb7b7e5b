#include "cluster/mpi_comm.h"

#include "dispatch/resource_probe.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <thread>

#ifdef RAPID_WITH_MPI
#include <mpi.h>
#endif

namespace rapid {

bool LaunchedByMpiLauncher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  const char* tasks = std::getenv("SLURM_NTASKS");
  return std::getenv("SLURM_PROCID") != nullptr && tasks != nullptr && std::atoi(tasks) > 1;
}

#ifdef RAPID_WITH_MPI

Status MpiComm::Init(std::unique_ptr<MpiComm>* comm) {
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    return Status::InvalidArgument("MPI_Init_thread failed");
  }
  std::unique_ptr<MpiComm> c(new MpiComm());
  if (provided < MPI_THREAD_FUNNELED) {
    return Status::InvalidArgument("the MPI library offers no MPI_THREAD_FUNNELED (rapid's model threads need it)");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &c->rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &c->size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &c->node_rank_);
  MPI_Comm_size(node, &c->node_size_);
  int lowest = 0;
  MPI_Allreduce(&c->rank_, &lowest, 1, MPI_INT, MPI_MIN, node);
  c->node_has_rank0_ = lowest == 0;
  // Affinity masks compared as a hash of the CPU list: equal on every rank of the host or not.
  uint64_t mine = 0;
  for (int cpu : CurrentThreadCpus()) mine = mine * 1000003u + static_cast<uint64_t>(cpu) + 1u;
  uint64_t low = 0, high = 0;
  MPI_Allreduce(&mine, &low, 1, MPI_UINT64_T, MPI_MIN, node);
  MPI_Allreduce(&mine, &high, 1, MPI_UINT64_T, MPI_MAX, node);
  c->node_shares_affinity_ = low == high;
  MPI_Comm_free(&node);
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(name, &length);
  c->host_.assign(name, static_cast<size_t>(length));
  *comm = std::move(c);
  return Status::OK();
}

MpiComm::~MpiComm() { MPI_Finalize(); }

void MpiComm::Send(int to, int tag, const std::string& message) {
  MPI_Send(message.data(), static_cast<int>(message.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD);
}

bool MpiComm::Receive(std::chrono::milliseconds wait, int* from, int* tag, std::string* message) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  MPI_Status status;
  for (int pending = 0;;) {
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &pending, &status);
    if (pending) break;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  message->resize(static_cast<size_t>(count));
  MPI_Recv(message->data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  *from = status.MPI_SOURCE;
  *tag = status.MPI_TAG;
  return true;
}

std::string MpiComm::ReceiveFrom(int from, int tag) {
  // Polled with short sleeps rather than MPI_Probe, which spins a core that the model's threads
  // of this rank need while they compute.
  MPI_Status status;
  for (int pending = 0; !pending;) {
    MPI_Iprobe(from, tag, MPI_COMM_WORLD, &pending, &status);
    if (!pending) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  std::string message(static_cast<size_t>(count), '\0');
  MPI_Recv(message.data(), count, MPI_CHAR, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return message;
}

void MpiComm::Abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

#else  // built without MPI

Status MpiComm::Init(std::unique_ptr<MpiComm>*) {
  return Status::InvalidArgument(
      "started by an MPI launcher, but this rapid was built without MPI (install libopenmpi-dev or libmpich-dev and "
      "build again; docs/cluster.md)");
}

MpiComm::~MpiComm() = default;
void MpiComm::Send(int, int, const std::string&) {}
bool MpiComm::Receive(std::chrono::milliseconds, int*, int*, std::string*) { return false; }
std::string MpiComm::ReceiveFrom(int, int) { return ""; }
void MpiComm::Abort(int code) { std::_Exit(code); }

#endif

}  // namespace rapid

// `mpirun -np N rapid run …` (docs/cluster.md): one job over N ranks with the outputs of one
// process. Rank 0 coordinates: it prepares the model, the input and the outputs as `rapid run`
// does, hands the units out largest first, one per request (a worker asks for its next unit as
// soon as it has read the last one, so its instances never wait), and is the only writer of the
// journal and of the merged outputs: a worker's completed unit travels back as its journal line
// (picks, detections, errors). Its probability traces and EQCCTPro window tables, one set of files
// per unit, are written by the worker itself into the output folder (a shared file system), which
// spares rank 0 a copy of the largest output. Every worker plans its own instances from its share
// of its host (ShareHost). A rank that dies makes Open MPI end the job; the journal then lets
// `--resume` (at any rank count) redo only the units that were in flight.
// Thread safety: only the calling thread (the process's main thread) uses MPI.
#pragma once

#include <string>
#include <vector>

#include "cluster/mpi_comm.h"
#include "engine/picking_run.h"

namespace rapid {

// The run on every rank: rank 0's outcome and report are the job's (run.json gains "ranks");
// a worker's outcome says only whether it could start.
RunOutcome RunPickingOnCluster(const RunOptions& opts, MpiComm* mpi, RunReport* report);

// This worker's share of its host, when the ranks there were not bound apart by the launcher:
// the CPUs (plan->cpus, else `affinity`) split evenly among the host's `workers` (in contiguous
// runs, `index` taking its own), the memory budget likewise (ram_share, max_ram_bytes), and the
// GPUs of plan->devices split the same way (a GPU per worker, round robin, when there are more
// workers than GPUs).
void ShareHost(int index, int workers, const std::vector<int>& affinity, PlanRequest* plan);

}  // namespace rapid

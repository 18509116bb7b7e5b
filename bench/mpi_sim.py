#!/usr/bin/env python3
"""Discrete-event model of an MPI `rapid run` (docs/cluster.md, cluster/cluster_run.h).

Rank 0 is one server handling messages in arrival order, each taking the measured service time c;
every worker starts after the measured start-up S, then asks for a unit (one message: request and
assignment), computes it for windows / r seconds (r: the measured windows/s of one worker), sends
it back (one message), and keeps two units in flight: it asks for the next as soon as it starts
computing one, so its core never waits for the coordinator unless the coordinator is saturated.
Units are handed out largest first, as rank 0 does.

  mpi_sim.py --validate ONE_PROCESS_RUN_JSON MPI_RUN_JSON...
      the MPI runs' picking span predicted from the one-process run's windows/s per core (each
      worker computing at that rate times its cores) and their own start-up and rank-0 service
      time, against the measured span
  mpi_sim.py --predict MPI_RUN_JSON   efficiency at 10, 100, 1000 ranks for 1,000 station-days
"""
import argparse
import heapq
import json
import random


def simulate(units, workers, rate, startup, service):
    """Makespan (s) of `units` (windows each, handed out largest first) over `workers`."""
    order = sorted(units, reverse=True)
    coordinator_free = 0.0
    next_unit = 0
    # Events: (time, worker, kind). kind "ask": the worker's request reaches rank 0.
    events = [(startup, w, "ask") for w in range(workers)]
    heapq.heapify(events)
    worker_free = [startup] * workers
    finish = 0.0
    while events:
        t, w, kind = heapq.heappop(events)
        start = max(t, coordinator_free)
        coordinator_free = start + service
        if kind == "result":
            finish = max(finish, coordinator_free)
            continue
        if next_unit == len(order):
            continue
        windows = order[next_unit]
        next_unit += 1
        begin = max(coordinator_free, worker_free[w])
        end = begin + windows / rate
        worker_free[w] = end
        heapq.heappush(events, (end, w, "result"))
        heapq.heappush(events, (begin, w, "ask"))  # the next request goes out as this unit starts
    return max(finish, max(worker_free))


def figures(run):
    ranks = run["ranks"]
    rate = sum(k["windows_per_s"] for k in ranks) / len(ranks)
    startup = sum(k["startup_s"] for k in ranks) / len(ranks)
    c = run["coordinator"]
    service = c["busy_s"] / c["messages"] if c["messages"] else 0.0
    return rate, startup, service


def validate(paths):
    base = json.load(open(paths[0]))
    cores = base["plan"]["cores_available"]
    per_core = base["windows"] / base["stage_s"]["annotate_wall"] / cores
    print("one process: %.0f windows/s per core (%d cores)" % (per_core, cores))
    print("%-8s %8s %10s %10s %8s" % ("workers", "units", "measured_s", "model_s", "error"))
    for path in paths[1:]:
        run = json.load(open(path))
        _, startup, service = figures(run)
        ranks = run["ranks"]
        worker_cores = [len(k["cpus"]) if k["cpus"] else cores for k in ranks]
        rate = per_core * sum(worker_cores) / len(worker_cores)
        units = run["units_total"]
        per_unit = run["windows"] / units
        # The picking span: from the ranks' start to the last worker's last window (rank 0's set-up
        # before and its writing after are the same as one process's).
        measured = max(k["startup_s"] + k["wall_s"] for k in ranks)
        model = simulate([per_unit] * units, len(ranks), rate, startup, service)
        print("%-8d %8d %10.2f %10.2f %7.1f%%" % (len(ranks), units, measured, model, 100.0 * (model - measured) / measured))


def predict(path, station_days, windows_per_day, cv, seed):
    run = json.load(open(path))
    rate, startup, service = figures(run)
    rng = random.Random(seed)
    # A station-day's windows: a full day less its gaps, spread with coefficient of variation cv.
    units = [max(1.0, windows_per_day * min(1.0, rng.lognormvariate(0.0, cv))) for _ in range(station_days)]
    one = simulate(units, 1, rate, startup, service)
    print("per worker %.0f windows/s, start-up %.2f s, rank 0 %.1f us per message; %d station-days of up to "
          "%d windows, cv %.2f" % (rate, startup, service * 1e6, station_days, windows_per_day, cv))
    print("%-8s %12s %10s  %s" % ("ranks", "makespan_s", "efficiency", "bottleneck"))
    for ranks in (10, 100, 1000):
        workers = ranks - 1
        span = simulate(units, workers, rate, startup, service)
        efficiency = one / (workers * span)
        busy = service * 2 * station_days / span
        if busy > 0.5:
            why = "rank 0 busy %.0f%% of the time" % (100 * busy)
        elif station_days / workers < 3:
            why = "%.1f units per worker: the last units and the start-up (%.1f s) dominate" % (
                station_days / workers, startup)
        else:
            why = "-"
        print("%-8d %12.1f %9.1f%%  %s" % (ranks, span, 100 * efficiency, why))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--validate", nargs="*", default=[])
    p.add_argument("--predict")
    p.add_argument("--station-days", type=int, default=1000)
    p.add_argument("--windows-per-day", type=int, default=5760)  # PhaseNet: 86 400 s / 15 s
    p.add_argument("--cv", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.validate:
        validate(a.validate)
    if a.predict:
        predict(a.predict, a.station_days, a.windows_per_day, a.cv, a.seed)


if __name__ == "__main__":
    main()

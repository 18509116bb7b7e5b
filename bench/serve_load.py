#!/usr/bin/env python3
"""Load generator for `rapid serve` (bench/serve_load.sh drives it): standard library only.

Phases (each prints one JSON line):
  saturate  closed loop: C clients post back to back for S seconds -> windows/s, requests/s
  rate      open loop at R requests/s for S seconds -> p50/p99 by status (from the send: what the
            server took), the client's own lag behind the schedule, codes, server peak RSS
  drain     open loop at R requests/s; SIGTERM to the server after T seconds -> every request sent
            before the signal must be answered (200, or 503 when it arrived while draining); the
            server's exit code
Bodies: miniSEED files, one request each, cycled.
"""
import argparse
import http.client
import json
import os
import queue
import signal
import sys
import threading
import time


def post(conn_holder, port, body, path):
    """One POST on a kept-alive connection; reconnects once. Returns (status, windows)."""
    for attempt in range(2):
        if conn_holder[0] is None:
            conn_holder[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn = conn_holder[0]
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/vnd.fdsn.mseed"})
            resp = conn.getresponse()
            data = resp.read()
            windows = 0
            if resp.status == 200:
                windows = json.loads(data).get("windows", 0)
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn_holder[0] = None
            return resp.status, windows
        except (ConnectionError, http.client.HTTPException, OSError):
            conn.close()
            conn_holder[0] = None
            if attempt == 1:
                return 0, 0
    return 0, 0


def rss_sampler(pid, stop, peak):
    while not stop.is_set():
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak[0] = max(peak[0], int(line.split()[1]) * 1024)
        except OSError:
            return
        time.sleep(0.05)


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def saturate(args, bodies):
    stop_at = time.monotonic() + args.seconds
    lock = threading.Lock()
    totals = {"requests": 0, "windows": 0, "codes": {}}

    def client(i):
        holder = [None]
        k = i
        while time.monotonic() < stop_at:
            status, windows = post(holder, args.port, bodies[k % len(bodies)], args.path)
            k += args.concurrency
            with lock:
                totals["requests"] += 1
                totals["windows"] += windows
                totals["codes"][status] = totals["codes"].get(status, 0) + 1

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    return {"phase": "saturate", "seconds": round(wall, 2), "concurrency": args.concurrency,
            "requests_per_s": round(totals["requests"] / wall, 1), "windows_per_s": round(totals["windows"] / wall, 1),
            "codes": totals["codes"]}


def open_loop(args, bodies, signal_after=None):
    """Sends at args.rate/s for args.seconds from a pool of workers; returns the measurements."""
    tasks = queue.Queue()
    results = []
    lock = threading.Lock()
    stop_rss = threading.Event()
    peak = [0]
    sampler = threading.Thread(target=rss_sampler, args=(args.server_pid, stop_rss, peak))
    sampler.start()
    signalled_at = [None]

    def worker():
        holder = [None]
        while True:
            item = tasks.get()
            if item is None:
                return
            scheduled, body = item
            sent = time.monotonic()
            status, _ = post(holder, args.port, body, args.path)
            done = time.monotonic()
            with lock:
                results.append((scheduled, status, done - scheduled, sent))

    workers = [threading.Thread(target=worker) for _ in range(args.workers)]
    for w in workers:
        w.start()
    start = time.monotonic()
    n = int(args.rate * args.seconds)
    for i in range(n):
        t = start + i / args.rate
        now = time.monotonic()
        if t > now:
            time.sleep(t - now)
        if signal_after is not None and signalled_at[0] is None and time.monotonic() - start >= signal_after:
            signalled_at[0] = time.monotonic()
            os.kill(args.server_pid, signal.SIGTERM)
            break
        tasks.put((t, bodies[i % len(bodies)]))
    for _ in workers:
        tasks.put(None)
    for w in workers:
        w.join()
    stop_rss.set()
    sampler.join()
    by_code = {}     # latency from the send: what the server took (connect, send, answer)
    lag = []         # from the scheduled time to the send: the client's own queueing
    for scheduled, status, latency, sent in results:
        by_code.setdefault(status, []).append(latency - (sent - scheduled))
        lag.append(sent - scheduled)
    out = {"rate_per_s": args.rate, "sent": len(results),
           "codes": {str(k): len(v) for k, v in sorted(by_code.items())},
           "latency_ms": {str(k): {"p50": round(percentile(v, 50) * 1000, 1), "p99": round(percentile(v, 99) * 1000, 1)}
                          for k, v in sorted(by_code.items())},
           "client_lag_ms": {"p50": round(percentile(lag, 50) * 1000, 1), "p99": round(percentile(lag, 99) * 1000, 1)},
           "server_peak_rss_bytes": peak[0]}
    if signal_after is not None:
        out["signalled_after_s"] = signal_after
        # Sent before the signal and never answered (after it, the listener is closed: not accepted).
        out["unanswered"] = sum(1 for _, status, _, sent in results if status == 0 and sent < signalled_at[0])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["saturate", "rate", "drain"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server-pid", type=int, default=0)
    ap.add_argument("--path", default="/v1/models/phasenet/picks")
    ap.add_argument("--bodies", nargs="+", required=True)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rate", type=float, default=10)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--signal-after", type=float, default=2.0)
    args = ap.parse_args()
    bodies = [open(p, "rb").read() for p in args.bodies]
    if args.phase == "saturate":
        result = saturate(args, bodies)
    elif args.phase == "rate":
        result = dict(phase="rate", **open_loop(args, bodies))
    else:
        result = dict(phase="drain", **open_loop(args, bodies, signal_after=args.signal_after))
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

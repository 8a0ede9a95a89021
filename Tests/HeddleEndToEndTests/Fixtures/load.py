#!/usr/bin/env python3
"""A bounded load client for Heddle's end-to-end tests: keep-alive HTTP/1.1 connections sending
requests at a steady total rate for a fixed time, then one JSON summary line.

  load.py PORT HOST PATH SECONDS CONNECTIONS RATE [COUNT]

With COUNT, the run ends once COUNT requests have been sent (shared among the connections), and
SECONDS is only a cap: on a loaded machine a time-bounded run sends fewer requests than asked.

Summary: total requests, counts by status, by heddle-error value and by x-served-by, client-side
exceptions (a reset or refused connection counts as a failed request), latency p50/p99/max in
milliseconds. A connection that fails is replaced by a new one.
"""
import http.client
import json
import sys
import threading
import time

port, host, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seconds, connections, rate = float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
limit = int(sys.argv[7]) if len(sys.argv) > 7 else None
lock = threading.Lock()
statuses, errors, served, latencies = {}, {}, {}, []
exceptions = []


def count(table, key):
    table[key] = table.get(key, 0) + 1


def worker(index):
    interval = connections / rate
    start = time.monotonic()
    deadline = start + seconds
    next_at = start + index * interval / connections
    conn = None
    quota = None if limit is None else limit // connections + (1 if index < limit % connections else 0)
    while True:
        now = time.monotonic()
        if now >= deadline or quota == 0:
            break
        if quota is not None:
            quota -= 1
        if next_at > now:
            time.sleep(next_at - now)
        next_at += interval
        began = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers={"Host": host})
            response = conn.getresponse()
            response.read()
            elapsed = (time.monotonic() - began) * 1000
            with lock:
                count(statuses, str(response.status))
                if response.getheader("heddle-error"):
                    count(errors, response.getheader("heddle-error"))
                if response.getheader("x-served-by"):
                    count(served, response.getheader("x-served-by"))
                latencies.append(elapsed)
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as error:  # a failed request, as a client sees it
            with lock:
                exceptions.append(f"{type(error).__name__}: {error}")
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()


threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
latencies.sort()


def percentile(p):
    if not latencies:
        return 0
    return latencies[min(len(latencies) - 1, int(len(latencies) * p))]


print(json.dumps({
    "total": sum(statuses.values()) + len(exceptions), "statuses": statuses, "errors": errors,
    "served": served, "exceptions": len(exceptions), "exceptionSamples": exceptions[:5],
    "p50": percentile(0.5), "p99": percentile(0.99), "max": latencies[-1] if latencies else 0,
}), flush=True)

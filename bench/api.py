"""The task API under concurrent clients, against local mode on 127.0.0.1.

    .venv/bin/python bench/api.py [--clients 20] [--seconds 10]

Starts `outpost local` on a free port, makes one enterprise tenant per client (unlimited
quota), then each client submits a task, reads it back, and lists its tasks, in a loop, until
the time is up. Reports requests per second and p50/p95/p99 per route, and every error.
Local mode runs moto, the gateway and the handlers in one Python process, so these figures
measure the code paths, not what API Gateway and DynamoDB would do.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import defaultdict

from local import Client, LocalMode, percentile

TASK = {"repo": "octo-org/hello-world", "task": "Add a README", "executor": "claude"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()

    # No workers: this measures the API alone (a worker would take the tasks it submits).
    local = LocalMode(workers=0)
    port = local.port
    try:
        keys = local.onboard(args.clients, "enterprise")
        timings: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        deadline = time.monotonic() + args.seconds

        def run(key: str) -> None:
            client = Client(port, key, timings, errors)
            while time.monotonic() < deadline:
                submitted = client.call("POST /v1/tasks", "POST", "/v1/tasks", TASK)
                if submitted:
                    client.call("GET /v1/tasks/{id}", "GET", f"/v1/tasks/{submitted['task_id']}")
                client.call("GET /v1/tasks", "GET", "/v1/tasks?limit=20")

        threads = [threading.Thread(target=run, args=(key,)) for key in keys]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        local.stop()

    total = sum(len(samples) for samples in timings.values())
    print(
        f"{args.clients} clients for {elapsed:.1f} s: {total} requests, "
        f"{total / elapsed:.0f} requests/s, {len(errors)} errors"
    )
    print("| route | requests | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|")
    for route, samples in timings.items():
        print(
            f"| {route} | {len(samples)} | {percentile(samples, 0.5):.1f} | "
            f"{percentile(samples, 0.95):.1f} | {percentile(samples, 0.99):.1f} |"
        )
    for error in errors[:5]:
        print(f"error: {error}")


if __name__ == "__main__":
    main()

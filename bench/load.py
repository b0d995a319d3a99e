"""Many tenants at once against local mode: throughput, p95 per route, errors; then checks
that every accepted task ended and every tenant's usage equals what it submitted.

    .venv/bin/python bench/load.py [--tenants 50] [--seconds 20] [--workers 3]

Starts `outpost local` with a no-op stand-in agent and a local bare repository, makes
``--tenants`` pro tenants (each with its key stored), then each tenant, in its own thread,
for ``--seconds``: submits a task, reads it back, lists its tasks and reads its usage, in a
loop (waiting out 429 rate_limited as a client should: its tier allows 10 requests a second).
Afterwards it waits for the workers to drain the queue and checks the invariants.
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from dataclasses import dataclass, field

from local import Client, LocalMode, percentile, playground, playground_environment

FINAL = {"completed", "failed", "cancelled"}
TASK = {"repo": "load/repo", "task": "nothing", "executor": "claude", "context": "off"}


@dataclass
class Load:
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    accepted: dict[str, list[str]] = field(default_factory=dict)
    throttled: int = 0
    elapsed: float = 0.0


def generate(local: LocalMode, keys: list[str], seconds: float) -> Load:
    """Every tenant in its own thread: submit, read back, list, usage, until time is up."""
    load = Load()
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def tenant(key: str) -> None:
        client = Client(local.port, key, load.timings, load.errors)
        mine: list[str] = []
        while time.monotonic() < deadline:
            submitted = client.call("POST /v1/tasks", "POST", "/v1/tasks", TASK)
            if submitted:
                mine.append(submitted["task_id"])
                client.call("GET /v1/tasks/{id}", "GET", f"/v1/tasks/{submitted['task_id']}")
            client.call("GET /v1/tasks", "GET", "/v1/tasks?limit=20")
            client.call("GET /v1/usage", "GET", "/v1/usage")
        with lock:
            load.accepted[key] = mine
            load.throttled += client.throttled

    threads = [threading.Thread(target=tenant, args=(key,)) for key in keys]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.elapsed = time.monotonic() - started
    return load


def drain_and_check(local: LocalMode, load: Load, limit: float) -> tuple[float, int, int]:
    """Wait for every accepted task to end; the time it took, the tasks still not final, and
    the tenants whose usage differs from what they submitted."""
    started = time.monotonic()
    errors: list[str] = []
    clients = {key: Client(local.port, key, {}, errors) for key in load.accepted}
    pending = {(key, task_id) for key, ids in load.accepted.items() for task_id in ids}
    while pending and time.monotonic() - started < limit:
        for key, task_id in list(pending):
            view = clients[key].call("check", "GET", f"/v1/tasks/{task_id}")
            if view and view["status"] in FINAL:
                pending.discard((key, task_id))
        time.sleep(1)
    mismatched = sum(
        1
        for key, ids in load.accepted.items()
        if (clients[key].call("check", "GET", "/v1/usage") or {}).get("requests") != len(ids)
    )
    return time.monotonic() - started, len(pending), mismatched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--drain-seconds", type=float, default=600)
    args = parser.parse_args()

    root = playground("load/repo")
    local = LocalMode(
        workers=args.workers,
        environment=playground_environment(root),
    )
    try:
        keys = local.onboard(args.tenants, "pro")
        for key in keys:
            Client(local.port, key, {}, []).call(
                "secret", "PUT", "/v1/secrets/anthropic", {"value": "sk-ant-load-" + "0" * 20}
            )
        load = generate(local, keys, args.seconds)
        drained, not_final, mismatched = drain_and_check(local, load, args.drain_seconds)
    finally:
        local.stop()
        shutil.rmtree(root, ignore_errors=True)

    total = sum(len(samples) for samples in load.timings.values())
    tasks = sum(len(ids) for ids in load.accepted.values())
    print(
        f"{args.tenants} tenants for {load.elapsed:.1f} s, {args.workers} workers: {total} "
        f"requests ({total / load.elapsed:.0f}/s), {tasks} tasks accepted, {load.throttled} "
        f"throttled (429, waited out), {len(load.errors)} errors"
    )
    print("| route | requests | p50 ms | p95 ms |\n|---|---|---|---|")
    for route, samples in load.timings.items():
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        print(f"| {route} | {len(samples)} | {p50:.0f} | {p95:.0f} |")
    print(
        f"drained in {drained:.0f} s; tasks not final: {not_final}; tenants whose usage "
        f"differs from what they submitted: {mismatched}"
    )
    for error in load.errors[:5]:
        print(f"error: {error}")


if __name__ == "__main__":
    main()

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
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TASK = {"repo": "octo-org/hello-world", "task": "Add a README", "executor": "claude"}


class Client:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1, timing every request."""

    def __init__(
        self, port: int, key: str, timings: dict[str, list[float]], errors: list[str]
    ) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self._timings = timings
        self._errors = errors

    def call(self, route: str, method: str, path: str, body: Any = None) -> Any:
        start = time.perf_counter()
        self._connection.request(method, path, json.dumps(body) if body else None, self._headers)
        response = self._connection.getresponse()
        payload = response.read()
        self._timings[route].append((time.perf_counter() - start) * 1000)
        if response.status >= 400:
            self._errors.append(f"{route}: {response.status} {payload[:200]!r}")
            return None
        return json.loads(payload)


def start_local() -> tuple[subprocess.Popen[bytes], int, str]:
    admin_key = "op_live_" + os.urandom(16).hex()
    log = Path(tempfile.mkdtemp()) / "local.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "outpost.cli", "local", "--port", "0"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "OUTPOST_ADMIN_KEY": admin_key,
                "PYTHONUNBUFFERED": "1",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            },
        )
    for _ in range(600):
        found = re.search(r"API:\s+http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if found:
            return process, int(found.group(1)), admin_key
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"local mode did not start:\n{log.read_text(errors='replace')}")


def onboard(port: int, admin_key: str, count: int) -> list[str]:
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    admin = Client(port, admin_key, timings, errors)
    keys = []
    for index in range(count):
        tenant = admin.call(
            "tenant",
            "POST",
            "/v1/tenants",
            {
                "name": f"bench {index}",
                "email": f"bench{index}@bench.example",
                "tier": "enterprise",
            },
        )
        key = admin.call(
            "key", "POST", f"/v1/tenants/{tenant['tenant_id']}/api-keys", {"name": "bench"}
        )
        keys.append(key["key"])
    if errors:
        raise SystemExit(f"onboarding failed: {errors[:3]}")
    return keys


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()

    process, port, admin_key = start_local()
    try:
        keys = onboard(port, admin_key, args.clients)
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
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

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

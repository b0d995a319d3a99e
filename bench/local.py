"""What the benchmarks share: local mode started on a free port, a timing HTTP client, tenants."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from outpost.local.repositories import seed_repository


class Client:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1, timing every request."""

    def __init__(
        self, port: int, key: str, timings: dict[str, list[float]], errors: list[str]
    ) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self._timings = timings
        self._errors = errors
        self.throttled = 0

    def call(self, route: str, method: str, path: str, body: Any = None) -> Any:
        """One request, timed; a 429 rate_limited is waited out and retried, as a
        well-behaved client does (counted in ``throttled``, not as an error)."""
        while True:
            start = time.perf_counter()
            try:
                self._connection.request(
                    method, path, json.dumps(body) if body else None, self._headers
                )
                response = self._connection.getresponse()
                payload = response.read()
            except (ConnectionError, http.client.HTTPException) as error:
                self._errors.append(f"{route}: {type(error).__name__}")
                self._connection.close()
                return None
            self._timings.setdefault(route, []).append((time.perf_counter() - start) * 1000)
            if response.status == HTTPStatus.TOO_MANY_REQUESTS and b"rate_limited" in payload:
                self.throttled += 1
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            if response.status >= HTTPStatus.BAD_REQUEST:
                self._errors.append(f"{route}: {response.status} {payload[:200]!r}")
                return None
            return json.loads(payload)


class LocalMode:
    """`outpost local` on a free port of 127.0.0.1, with ``workers`` worker processes."""

    def __init__(self, workers: int, environment: Mapping[str, str] | None = None) -> None:
        self.admin_key = "op_live_" + os.urandom(16).hex()
        self.log = Path(tempfile.mkdtemp()) / "local.log"
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "outpost.cli", "local", "--port", "0",
                 "--workers", str(workers)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    **(environment or {}),
                    "OUTPOST_ADMIN_KEY": self.admin_key,
                    "PYTHONUNBUFFERED": "1",
                    "POWERTOOLS_LOG_LEVEL": "WARNING",
                },
            )  # fmt: skip
        for _ in range(600):
            text = self.log.read_text(errors="replace")
            api = re.search(r"API:\s+http://127\.0\.0\.1:(\d+)", text)
            aws = re.search(r"AWS:\s+(http://127\.0\.0\.1:\d+)", text)
            if api and aws:
                self.port = int(api.group(1))
                self.aws_endpoint = aws.group(1)
                return
            time.sleep(0.1)
        self.process.kill()
        raise SystemExit(f"local mode did not start:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)

    def onboard(self, count: int, tier: str) -> list[str]:
        """``count`` new tenants of the tier, one live key each."""
        errors: list[str] = []
        admin = Client(self.port, self.admin_key, {}, errors)
        keys = []
        for index in range(count):
            tenant = admin.call(
                "tenant",
                "POST",
                "/v1/tenants",
                {
                    "name": f"bench {index}",
                    "email": f"bench{index}-{os.urandom(3).hex()}@bench.example",
                    "tier": tier,
                },
            )
            key = admin.call(
                "key", "POST", f"/v1/tenants/{tenant['tenant_id']}/api-keys", {"name": "bench"}
            )
            keys.append(key["key"])
        if errors:
            raise SystemExit(f"onboarding failed: {errors[:3]}")
        return keys


NO_OP_AGENT = '#!/bin/sh\necho \'{"type":"result","is_error":false}\'\n'


def playground(repo: str) -> Path:
    """A bare repository ``repo`` under a local git base, and a no-op stand-in ``claude``,
    readable by the agent user; see ``playground_environment``."""
    root = Path(tempfile.mkdtemp(prefix="outpost-bench-"))
    root.chmod(0o755)
    seed_repository(root / "repos", repo, {"README.md": "# Bench\n"})
    (root / "bin").mkdir()
    (root / "bin" / "claude").write_text(NO_OP_AGENT)
    (root / "bin" / "claude").chmod(0o755)
    return root


def playground_environment(root: Path) -> dict[str, str]:
    """Local mode's variables for a playground: the stand-in on PATH, the repos as git base."""
    return {
        "PATH": f"{root / 'bin'}:{os.environ['PATH']}",
        "OUTPOST_GIT_BASE_URL": f"file://{root / 'repos'}",
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

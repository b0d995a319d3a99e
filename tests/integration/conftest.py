"""Integration tests start `outpost local` as a subprocess and talk to it over HTTP."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from outpost.models import Environment
from outpost.models.api_key import generate_api_key

STARTUP_SECONDS = 60


@dataclass
class LocalSystem:
    url: str
    aws_endpoint: str
    admin_key: str
    output: Path
    process: subprocess.Popen[bytes]

    def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        honour_throttling: bool = True,
    ) -> tuple[int, Any]:
        """One request; a 429 ``rate_limited`` is retried after its Retry-After, as a
        well-behaved client does (``honour_throttling=False`` to see it)."""
        while True:
            status, payload, answered = self.call_with_headers(
                method, path, key, body, headers=headers, raw=raw
            )
            throttled = status == 429 and payload["error"]["type"] == "rate_limited"
            if not (honour_throttling and throttled):
                return status, payload
            time.sleep(float(answered.get("Retry-After", "1")))

    def call_with_headers(
        self,
        method: str,
        path: str,
        key: str | None = None,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """One request, no retry: status, body and headers."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        request.add_header("User-Agent", "outpost-integration-tests/1")
        if key is not None:
            request.add_header("Authorization", f"Bearer {key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                payload = json.loads(response.read() or b"null")
                return response.status, payload, dict(response.headers.items())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), dict(error.headers.items())

    def onboard(self, tier: str, email: str) -> dict[str, Any]:
        """A new tenant with a live and a test key: {"tenant": …, "live": key, "test": key}."""
        status, tenant = self.call(
            "POST", "/v1/tenants", self.admin_key, {"name": email, "email": email, "tier": tier}
        )
        assert status == 201, tenant
        keys = {}
        for environment in ("live", "test"):
            status, key = self.call(
                "POST",
                f"/v1/tenants/{tenant['tenant_id']}/api-keys",
                self.admin_key,
                {"name": environment, "environment": environment},
            )
            assert status == 201, key
            keys[environment] = key["key"]
        return {"tenant": tenant, **keys}

    def logs(self) -> str:
        return self.output.read_text(errors="replace")


def _start(tmp: Path, workers: int, extra_environment: dict[str, str]) -> LocalSystem:
    admin_key = generate_api_key(Environment.LIVE)
    output = tmp / "outpost-local.log"
    environment = {
        **os.environ,
        "OUTPOST_ADMIN_KEY": admin_key,
        "PYTHONUNBUFFERED": "1",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        **extra_environment,
    }
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "outpost.cli",
                "local",
                "--port",
                "0",
                "--workers",
                str(workers),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        text = output.read_text(errors="replace")
        api = re.search(r"API:\s+(http://127\.0\.0\.1:\d+)", text)
        aws = re.search(r"AWS:\s+(http://127\.0\.0\.1:\d+)", text)
        if api and aws:
            return LocalSystem(api.group(1), aws.group(1), admin_key, output, process)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"outpost local did not start:\n{output.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def local_environment() -> dict[str, str]:
    """Variables a module adds to local mode's environment (a git base, a PATH)."""
    return {}


@pytest.fixture(scope="module")
def local_system(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    local_environment: dict[str, str],
) -> Iterator[LocalSystem]:
    """Local mode with the module's LOCAL_WORKERS worker processes (default 2)."""
    workers = getattr(request.module, "LOCAL_WORKERS", 2)
    system = _start(tmp_path_factory.mktemp("local"), workers, local_environment)
    yield system
    system.process.send_signal(signal.SIGTERM)
    assert system.process.wait(timeout=15) == 0, "local mode did not stop cleanly on SIGTERM"

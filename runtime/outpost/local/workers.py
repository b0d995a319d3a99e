"""Local mode's worker processes: the same ``python -m outpost.worker`` the container runs,
started with local timings and restarted if one dies (as ECS would start a new task)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping

from aws_lambda_powertools import Logger

logger = Logger(service="outpost")

# Short timings so that a lost worker's run comes back in seconds; values the worker reads.
LOCAL_WORKER_TIMINGS = {
    "OUTPOST_LEASE_SECONDS": "10",
    "OUTPOST_HEARTBEAT_SECONDS": "2",
    "OUTPOST_POLL_WAIT_SECONDS": "1",
    "OUTPOST_SLOT_WAIT_SECONDS": "2",
    "OUTPOST_RETRY_BACKOFF_SECONDS": "2",
}
# Started as root, local mode runs agents as the system's own unprivileged user.
LOCAL_AGENT_USER = "nobody"
STOP_SECONDS = 30
RESTART_CHECK_SECONDS = 0.5


class WorkerProcesses(threading.Thread):
    def __init__(self, count: int, environment: Mapping[str, str]) -> None:
        super().__init__(name="workers", daemon=True)
        self._count = count
        self._environment = {
            "OUTPOST_AGENT_USER": LOCAL_AGENT_USER,
            **environment,
            **LOCAL_WORKER_TIMINGS,
        }
        self._processes: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "outpost.worker"], env=self._environment)

    def start(self) -> None:
        with self._lock:
            self._processes = [self._spawn() for _ in range(self._count)]
        super().start()

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [process.pid for process in self._processes]

    def run(self) -> None:
        while not self._stopping.wait(RESTART_CHECK_SECONDS):
            with self._lock:
                for index, process in enumerate(self._processes):
                    if process.poll() is not None and not self._stopping.is_set():
                        logger.warning(
                            "worker exited; starting another",
                            extra={"pid": process.pid, "exit_code": process.returncode},
                        )
                        self._processes[index] = self._spawn()

    def stop(self) -> None:
        """SIGTERM each worker (it hands back what it holds), then wait for them."""
        self._stopping.set()
        self.join()
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()

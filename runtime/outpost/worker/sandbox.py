"""Running an agent CLI apart from the worker.

The agent gets an environment built from scratch (PATH, a HOME in its workspace, the one
provider key, a git identity; no AWS variables, no container-credentials URI, no other
secret), its own session and process group (all of it is killed at the end), and, when the
worker runs as root (in the container), the unprivileged agent user. A worker that cannot
switch users (local mode started by an ordinary user) says so and runs the agent as itself;
it still marks itself non-dumpable, so its /proc/<pid>/environ is unreadable to the agent,
and keeps the workspace root unlistable, so another run's workspace cannot be found.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import pwd
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aws_lambda_powertools import Logger

from outpost.settings import Misconfigured

logger = Logger(service="outpost")

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
TERMINATE_GRACE_SECONDS = 5
POLL_SECONDS = 0.2
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Outpost agent",
    "GIT_AUTHOR_EMAIL": "agent@outpost.invalid",
    "GIT_COMMITTER_NAME": "Outpost agent",
    "GIT_COMMITTER_EMAIL": "agent@outpost.invalid",
}

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def make_undumpable() -> None:
    """Make this process's /proc entries (environ, mem) unreadable to same-user processes."""
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    # If the worker is killed outright, its agent does not outlive it.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass(frozen=True)
class AgentUser:
    """Whom the agent runs as; None fields: as the worker itself."""

    uid: int | None
    gid: int | None
    name: str

    @classmethod
    def resolve(cls, name: str) -> AgentUser:
        """The named user when the worker runs as root (it must exist); else the worker's."""
        if os.geteuid() != 0:
            return cls(None, None, pwd.getpwuid(os.geteuid()).pw_name)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise Misconfigured(f"the agent user {name!r} does not exist") from None
        if entry.pw_uid == 0:
            raise Misconfigured("agents must not run as root")
        return cls(entry.pw_uid, entry.pw_gid, name)

    @property
    def switches(self) -> bool:
        return self.uid is not None

    def own(self, path: Path) -> None:
        """Hand the workspace to the agent user."""
        if self.uid is None or self.gid is None:
            return
        for root, dirs, files in os.walk(path):
            os.chown(root, self.uid, self.gid)
            for name in (*dirs, *files):
                os.lchown(os.path.join(root, name), self.uid, self.gid)


def agent_environment(
    *, path: str, home: Path, tmp: Path, variables: Mapping[str, str]
) -> dict[str, str]:
    """From scratch: nothing of the worker's own environment is inherited but PATH."""
    return {
        "PATH": path,
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "CI": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        **GIT_IDENTITY,
        **variables,
    }


class Ending(StrEnum):
    EXITED = "exited"
    TIMED_OUT = "timed_out"
    STOPPED = "stopped"


@dataclass(frozen=True)
class AgentExit:
    ending: Ending
    exit_code: int | None
    seconds: float


def run_agent(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output: Path,
    user: AgentUser,
    timeout_seconds: float,
    should_stop: Callable[[], bool],
) -> AgentExit:
    """Run the CLI to its end, its time limit, or until ``should_stop`` says so (a cancel,
    a lost lease, a worker told to stop); the whole process group is killed at the end."""
    started = time.monotonic()
    with output.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - argv list, no shell
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user.uid,
            group=user.gid,
            extra_groups=[] if user.switches else None,
            umask=0o077,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - one prctl call, no locks taken
        )
    ending = Ending.EXITED
    try:
        while process.poll() is None:
            if time.monotonic() - started > timeout_seconds:
                ending = Ending.TIMED_OUT
                break
            if should_stop():
                ending = Ending.STOPPED
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(POLL_SECONDS)
        if ending is not Ending.EXITED:
            _signal_group(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(TERMINATE_GRACE_SECONDS)
    finally:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    exit_code = process.returncode if ending is Ending.EXITED else None
    return AgentExit(ending, exit_code, time.monotonic() - started)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class Heartbeat(threading.Thread):
    """Calls ``beat`` every ``interval`` seconds until stopped; a failing beat is logged."""

    def __init__(self, beat: Callable[[], None], interval: float) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self._beat = beat
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._beat()
            except Exception:
                logger.exception("heartbeat failed")

    def stop(self) -> None:
        self._stopped.set()
        self.join()

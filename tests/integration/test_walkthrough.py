"""The README's walkthrough, run as written: its setup block, local mode started as step 2
says (git base and PATH), then its client block, each with bash, failing on any error."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import LocalSystem

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]
ROOT = Path(__file__).resolve().parents[2]
WALK = Path("/tmp/outpost-walk")  # noqa: S108 - the folder the README's blocks use


def block(name: str) -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- walkthrough:{name} -->\n```bash\n(.*?)```", readme, re.DOTALL)
    assert found, f"README has no walkthrough:{name} block"
    return found.group(1)


def bash(script: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def local_environment() -> dict[str, str]:
    """Step 1 (the setup block) runs before local mode starts, as the README orders it."""
    done = bash(block("setup"), dict(os.environ))
    assert done.returncode == 0, done.stderr
    return {
        "PATH": f"{WALK / 'bin'}:{os.environ['PATH']}",
        "OUTPOST_GIT_BASE_URL": f"file://{WALK / 'repos'}",
    }


def test_the_walkthrough_as_written(local_system: LocalSystem) -> None:
    environment = {
        **os.environ,
        "OUTPOST_ADMIN_KEY": local_system.admin_key,
        "OUTPOST_API_URL": local_system.url,
    }
    done = bash(block("client"), environment)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "completed" in done.stdout
    assert "changes: committed" in done.stdout
    assert "branch: outpost/tsk_" in done.stdout
    assert "Add notes" in done.stdout.splitlines()[-2]  # the stand-in's commit on the branch
    assert "init" in done.stdout.splitlines()[-1]

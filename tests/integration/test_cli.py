"""The `outpost` command against local mode: through typer's test runner, and once as a
real subprocess. An admin onboards a tenant; the tenant stores a key from standard input,
submits with --wait, reads the logs, and scripts with --json; refusals exit 1 with the
request id."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outpost.cli import app
from tests.integration.conftest import LocalSystem
from tests.integration.test_local_worker import REPO, local_environment, playground

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]
__all__ = ["local_environment", "playground"]  # the stand-in agent and bare repositories

runner = CliRunner()


def outpost(system: LocalSystem, key: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(
        app, list(args), input=stdin, env={"OUTPOST_API_KEY": key, "OUTPOST_API_URL": system.url}
    )
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def tenant_key(local_system: LocalSystem) -> str:
    admin = local_system.admin_key
    code, created = outpost(
        local_system,
        admin,
        "tenants",
        "create",
        "--name",
        "CLI Co",
        "--email",
        "cli@cli.example",
        "--tier",
        "pro",
        "--json",
    )
    assert code == 0, created
    tenant_id = json.loads(created)["tenant_id"]
    code, key = outpost(local_system, admin, "keys", "create", tenant_id, "--name", "laptop")
    assert code == 0, key
    code, listed = outpost(local_system, admin, "keys", "list", tenant_id)
    assert "laptop" in listed
    code, tenants = outpost(local_system, admin, "tenants", "list")
    assert (code, "cli@cli.example" in tenants) == (0, True)
    return key.strip()


def test_secrets_come_from_stdin_and_are_never_shown(
    local_system: LocalSystem, tenant_key: str
) -> None:
    value = "sk-ant-cli-" + "7" * 20
    code, output = outpost(
        local_system, tenant_key, "secrets", "set", "anthropic", stdin=value + "\n"
    )
    assert (code, output.strip()) == (0, "anthropic stored (…7777)")
    code, listed = outpost(local_system, tenant_key, "secrets", "list", "--json")
    assert code == 0
    assert [s["provider"] for s in json.loads(listed)["data"]] == ["anthropic"]
    assert value not in listed


def test_submit_and_wait_then_read_the_logs(
    local_system: LocalSystem, tenant_key: str, playground: Path
) -> None:
    code, output = outpost(
        local_system,
        tenant_key,
        "tasks",
        "submit",
        "--repo",
        REPO,
        "--task",
        "Add notes from the CLI",
        "--wait",
        "--json",
    )
    assert code == 0, output
    done = json.loads(output[output.index("{") :])
    assert (done["status"], done["changes"]) == ("completed", "committed")
    code, logs = outpost(local_system, tenant_key, "tasks", "logs", done["task_id"])
    assert (code, "stand-in agent done" in logs) == (0, True)
    code, listed = outpost(local_system, tenant_key, "tasks", "list")
    assert done["task_id"] in listed
    code, usage = outpost(local_system, tenant_key, "usage", "--json")
    assert json.loads(usage)["requests"] >= 1


def test_a_failed_task_exits_4_and_a_refusal_exits_1(
    local_system: LocalSystem, tenant_key: str
) -> None:
    code, _ = outpost(
        local_system,
        tenant_key,
        "tasks",
        "submit",
        "--repo",
        REPO,
        "--task",
        "exit-non-zero please",
        "--wait",
    )
    assert code == 4
    code, output = outpost(local_system, tenant_key, "tasks", "get", "tsk_" + "0" * 24)
    assert code == 1
    assert "not_found" in output
    assert "request" in output
    code, output = outpost(local_system, "", "tasks", "list")
    assert code == 2


def test_the_console_script_runs_as_a_subprocess(
    local_system: LocalSystem, tenant_key: str
) -> None:
    environment = {**os.environ, "OUTPOST_API_KEY": tenant_key, "OUTPOST_API_URL": local_system.url}
    result = subprocess.run(
        [sys.executable, "-m", "outpost.cli", "audit", "--json", "--limit", "5"],
        capture_output=True, text=True, env=environment, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["data"]) == 5

"""The worker in local mode, over HTTP: a stand-in agent CLI on PATH, local bare repositories
as the git base. Runs reach their end with branches, artifacts and output links; failures,
missing keys, cancels, a free tenant's one-at-a-time rule, duplicate deliveries, a worker
killed outright, and an agent that tries to break out."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from outpost.data.buckets import RUNS
from outpost.data.queues import TASK_QUEUES
from outpost.local.repositories import seed_repository
from outpost.models import Tier
from outpost.services.dispatch import RunMessage
from tests.integration.conftest import LocalSystem

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]

ANTHROPIC_KEY = "sk-ant-standin-" + "k3y" * 8
GITHUB_TOKEN = "ghp_standin" + "t0k" * 8
FINAL = {"completed", "failed", "cancelled"}
REPO = "octo/hello"

STAND_IN = r"""#!/bin/sh
# Stand-in for Claude Code: does what the task text (the prompt, $2) asks.
prompt="$2"
markers="@MARKERS@"
case "$prompt" in
  *exit-non-zero*) echo "stand-in: failing on purpose"; exit 3 ;;
  *sleep-long*)
    echo "$$ $PPID" > "$markers/long.pid"
    while true; do date +%s > "$markers/long.alive"; sleep 0.2; done ;;
  *slow-commit*) echo "$$ $PPID" >> "$markers/slow.pids"; sleep 4 ;;
  *count-me*) echo run >> "$markers/count"; sleep 3 ;;
  *one-at-a-time*)
    echo "start $(date +%s.%N)" >> "$markers/intervals"; sleep 2
    echo "end $(date +%s.%N)" >> "$markers/intervals" ;;
  *probe-isolation*)
    echo "my key is $ANTHROPIC_API_KEY"
    {
      echo "aws-variables: $(env | grep -c '^AWS_')"
      echo "container-credentials: $(env | grep -c 'CONTAINER_CREDENTIALS')"
      echo "secrets-in-environment: $(env | grep -c '@GITHUB_TOKEN@')"
      if cat "/proc/$PPID/environ" > /dev/null 2>&1; then echo "parent-environ: readable"
      else echo "parent-environ: denied"; fi
      if ls "$(dirname "$(dirname "$PWD")")" > /dev/null 2>&1; then echo "workspace-root: listable"
      else echo "workspace-root: denied"; fi
      if cat "@OTHER@/secret.txt" > /dev/null 2>&1; then echo "other-workspace: readable"
      else echo "other-workspace: denied"; fi
      if grep -q '@GITHUB_TOKEN@' .git/config; then echo "token-in-config: yes"
      else echo "token-in-config: no"; fi
    } > "$markers/probe"
    for hook in pre-commit post-commit pre-push commit-msg; do
      printf '#!/bin/sh\ntouch %s/hook-ran\n' "$markers" > ".git/hooks/$hook"
      chmod +x ".git/hooks/$hook"
    done
    git config core.hooksPath .git/hooks
    git config core.fsmonitor "touch $markers/fsmonitor-ran; false"
    echo probed >> NOTES.md
    echo '{"type":"result","is_error":false}'
    exit 0 ;;
esac
case "$prompt" in
  *no-changes*) ;;
  *leave-uncommitted*) echo "uncommitted edit" >> NOTES.md ;;
  *) echo "edited by the stand-in agent" >> NOTES.md
     git add NOTES.md && git commit -qm "Stand-in: add notes" ;;
esac
echo "stand-in agent done"
echo '{"type":"result","is_error":false,"result":"done"}'
"""


@pytest.fixture(scope="module")
def playground() -> Iterator[Path]:
    """Bare repositories, the stand-in agent and a markers folder, readable by the agent user
    (local mode started as root runs agents as nobody)."""
    root = Path(tempfile.mkdtemp(prefix="outpost-worker-test-"))
    root.chmod(0o755)
    (root / "markers").mkdir(mode=0o777)
    (root / "markers").chmod(0o777)
    (root / "workspaces").mkdir()
    other = root / "workspaces" / "00000000-0000-0000-0000-000000000000-run_other"
    other.mkdir(parents=True, mode=0o700)
    (other / "secret.txt").write_text("another tenant's code")
    if os.geteuid() == 0:  # as a workspace of another agent user would be
        os.chown(other, 65533, 65533)
        os.chown(other / "secret.txt", 65533, 65533)
    seed_repository(root / "repos", REPO, {"README.md": "# Hello\n\nFor the stand-in agent.\n"})
    bin_dir = root / "bin"
    bin_dir.mkdir()
    script = (
        STAND_IN.replace("@MARKERS@", str(root / "markers"))
        .replace("@OTHER@", str(other))
        .replace("@GITHUB_TOKEN@", GITHUB_TOKEN)
    )
    (bin_dir / "claude").write_text(script)
    (bin_dir / "claude").chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def local_environment(playground: Path) -> dict[str, str]:
    return {
        "PATH": f"{playground / 'bin'}:{os.environ['PATH']}",
        "OUTPOST_GIT_BASE_URL": f"file://{playground / 'repos'}",
        "OUTPOST_WORKSPACE_ROOT": str(playground / "workspaces"),
    }


@pytest.fixture(scope="module")
def pro(local_system: LocalSystem) -> dict[str, Any]:
    tenant = local_system.onboard("pro", "pro@worker.example")
    for provider, value in (("anthropic", ANTHROPIC_KEY), ("github", GITHUB_TOKEN)):
        status, _ = local_system.call(
            "PUT", f"/v1/secrets/{provider}", tenant["live"], {"value": value}
        )
        assert status == 200
    return tenant


def submit(system: LocalSystem, key: str, task: str, **extra: str) -> str:
    status, body = system.call(
        "POST", "/v1/tasks", key, {"repo": REPO, "task": task, "executor": "claude", **extra}
    )
    assert status == 202, body
    return str(body["task_id"])


def wait_for(
    system: LocalSystem, key: str, task_id: str, statuses: set[str], seconds: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    task: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status, task = system.call("GET", f"/v1/tasks/{task_id}", key)
        assert status == 200, task
        if task["status"] in statuses:
            return task
        time.sleep(0.2)
    raise AssertionError(f"task never reached {statuses}: {task}\n{system.logs()[-4000:]}")


def wait_for_file(path: Path, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{path} never appeared")


def branches(playground: Path) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(playground / "repos" / f"{REPO}.git"), "branch", "--list"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_a_run_commits_pushes_and_stores_its_artifacts(
    local_system: LocalSystem, pro: dict[str, Any], playground: Path
) -> None:
    task_id = submit(local_system, pro["live"], "Add some notes")
    task = wait_for(local_system, pro["live"], task_id, FINAL)
    assert (task["status"], task["changes"], task["exit_code"]) == ("completed", "committed", 0)
    (run,) = task["runs"]
    assert run["branch"] == task["branch"] == f"outpost/{task_id}"
    assert f"outpost/{task_id}" in branches(playground)
    with urllib.request.urlopen(task["output_url"], timeout=10) as response:  # noqa: S310
        output = response.read().decode()
    assert "stand-in agent done" in output
    s3 = boto3.client("s3", endpoint_url=local_system.aws_endpoint, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
    prefix = f"runs/{pro['tenant']['tenant_id']}/{run['run_id']}/"
    listed = s3.list_objects_v2(Bucket=RUNS.local_name("local"), Prefix=prefix)
    assert sorted(o["Key"].removeprefix(prefix) for o in listed["Contents"]) == [
        "diff.patch", "output.log", "result.json",
    ]  # fmt: skip
    result = json.loads(
        s3.get_object(Bucket=RUNS.local_name("local"), Key=prefix + "result.json")["Body"].read()
    )
    assert (result["status"], result["changes"], result["judged_by"]) == (
        "completed", "committed", "exit code and JSON result",
    )  # fmt: skip
    patch = s3.get_object(Bucket=RUNS.local_name("local"), Key=prefix + "diff.patch")["Body"].read()
    assert b"edited by the stand-in agent" in patch


def test_uncommitted_changes_are_committed_by_the_worker(
    local_system: LocalSystem, pro: dict[str, Any], playground: Path
) -> None:
    task_id = submit(local_system, pro["live"], "leave-uncommitted edits")
    task = wait_for(local_system, pro["live"], task_id, FINAL)
    assert (task["status"], task["changes"]) == ("completed", "uncommitted")
    log = subprocess.run(
        ["git", "--git-dir", str(playground / "repos" / f"{REPO}.git"), "log", "-1",
         "--format=%an|%s", f"outpost/{task_id}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert log == "Outpost|Outpost: leave-uncommitted edits"


def test_no_changes_means_no_branch(
    local_system: LocalSystem, pro: dict[str, Any], playground: Path
) -> None:
    task_id = submit(local_system, pro["live"], "no-changes please", context="off")
    task = wait_for(local_system, pro["live"], task_id, FINAL)
    assert (task["status"], task["changes"], task["runs"][0]["branch"]) == (
        "completed",
        "none",
        None,
    )
    assert task_id not in branches(playground)


def test_an_agent_exiting_non_zero_fails_the_run_with_its_exit_code(
    local_system: LocalSystem, pro: dict[str, Any]
) -> None:
    task_id = submit(local_system, pro["live"], "exit-non-zero now")
    task = wait_for(local_system, pro["live"], task_id, FINAL)
    assert (task["status"], task["exit_code"]) == ("failed", 3)
    assert "exited 3" in task["error"]


def test_a_missing_key_fails_the_run_clearly(local_system: LocalSystem) -> None:
    keyless = local_system.onboard("pro", "keyless@worker.example")
    task_id = submit(local_system, keyless["live"], "Add some notes")
    task = wait_for(local_system, keyless["live"], task_id, FINAL)
    assert task["status"] == "failed"
    assert "no anthropic key is stored" in task["error"]


def test_cancel_while_running_stops_the_agent(
    local_system: LocalSystem, pro: dict[str, Any], playground: Path
) -> None:
    task_id = submit(local_system, pro["live"], "sleep-long please")
    wait_for_file(playground / "markers" / "long.alive")
    status, _ = local_system.call("POST", f"/v1/tasks/{task_id}/cancel", pro["live"])
    assert status == 200
    task = wait_for(local_system, pro["live"], task_id, FINAL, seconds=30)
    assert task["status"] == "cancelled"
    alive = playground / "markers" / "long.alive"
    last = alive.read_text()
    time.sleep(1)
    assert alive.read_text() == last, "the agent kept running after the cancel"


def test_a_free_tenant_never_runs_two_at_once(local_system: LocalSystem, playground: Path) -> None:
    free = local_system.onboard("free", "free@worker.example")
    local_system.call("PUT", "/v1/secrets/anthropic", free["live"], {"value": ANTHROPIC_KEY})
    ids = [submit(local_system, free["live"], f"one-at-a-time #{n}") for n in range(2)]
    for task_id in ids:
        assert wait_for(local_system, free["live"], task_id, FINAL)["status"] == "completed"
    lines = (playground / "markers" / "intervals").read_text().split()
    moments = [float(value) for value in lines[1::2]]
    kinds = lines[0::2]
    # Two workers were free to take both at once; the slot made them take turns.
    assert kinds == ["start", "end", "start", "end"]
    assert moments == sorted(moments)


def test_a_duplicate_delivery_runs_the_agent_once(
    local_system: LocalSystem, pro: dict[str, Any], playground: Path
) -> None:
    task_id = submit(local_system, pro["live"], "count-me once")
    task = wait_for(local_system, pro["live"], task_id, {"processing"})
    sqs = boto3.client("sqs", endpoint_url=local_system.aws_endpoint, region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
    duplicate = RunMessage(
        task_id=task_id,
        run_id=task["runs"][0]["run_id"],
        tenant_id=pro["tenant"]["tenant_id"],
        executor="claude",
        tier=Tier.PRO,
    )
    url = sqs.get_queue_url(QueueName=TASK_QUEUES[Tier.PRO].queue_name("local"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=duplicate.model_dump_json())
    assert wait_for(local_system, pro["live"], task_id, FINAL)["status"] == "completed"
    sqs.send_message(QueueUrl=url, MessageBody=duplicate.model_dump_json())  # after the end too
    time.sleep(3)
    assert (playground / "markers" / "count").read_text().split() == ["run"]


def test_a_worker_killed_mid_job_loses_nothing(
    local_system: LocalSystem, pro: dict[str, Any], playground: Path
) -> None:
    task_id = submit(local_system, pro["live"], "slow-commit please")
    first = wait_for_file(playground / "markers" / "slow.pids")
    agent_pid, worker_pid = (int(value) for value in first.split())
    os.kill(worker_pid, signal.SIGKILL)
    task = wait_for(local_system, pro["live"], task_id, FINAL, seconds=90)
    assert (task["status"], task["changes"]) == ("completed", "committed")
    attempts = (playground / "markers" / "slow.pids").read_text().splitlines()
    assert len(attempts) == 2, "the run was tried again by another worker"
    assert not Path(f"/proc/{agent_pid}").exists(), "the killed worker's agent outlived it"
    _, usage = local_system.call("GET", "/v1/usage", pro["live"])
    assert usage["concurrency"]["in_use"] == 0


def test_the_agent_cannot_reach_the_worker_other_workspaces_or_run_hooks(
    local_system: LocalSystem, pro: dict[str, Any], playground: Path
) -> None:
    task_id = submit(local_system, pro["live"], "probe-isolation")
    task = wait_for(local_system, pro["live"], task_id, FINAL)
    assert (task["status"], task["changes"]) == ("completed", "uncommitted")  # committed, pushed
    probe = dict(
        line.split(": ", 1) for line in (playground / "markers" / "probe").read_text().splitlines()
    )
    assert probe == {
        "aws-variables": "0",
        "container-credentials": "0",
        "secrets-in-environment": "0",
        "parent-environ": "denied",
        "workspace-root": "denied",
        "other-workspace": "denied",
        "token-in-config": "no",
    }
    assert not (playground / "markers" / "hook-ran").exists()
    assert not (playground / "markers" / "fsmonitor-ran").exists()
    with urllib.request.urlopen(task["output_url"], timeout=10) as response:  # noqa: S310
        output = response.read().decode()
    assert "my key is [redacted]" in output
    assert ANTHROPIC_KEY not in output


def test_workspaces_are_removed_and_no_secret_reached_a_log(
    local_system: LocalSystem, playground: Path
) -> None:
    # A run's end is recorded just before its workspace is removed: allow a moment.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = {p.name for p in (playground / "workspaces").iterdir()}
        if left == {"00000000-0000-0000-0000-000000000000-run_other"}:
            break
        time.sleep(0.2)
    assert left == {"00000000-0000-0000-0000-000000000000-run_other"}
    logs = local_system.logs()
    assert ANTHROPIC_KEY not in logs
    assert GITHUB_TOKEN not in logs


def test_concurrent_secret_writes_keep_every_provider(local_system: LocalSystem) -> None:
    tenant = local_system.onboard("pro", "secrets@worker.example")
    providers = ["github", "anthropic", "openai", "google", "deepseek", "xai"]

    def store(provider: str) -> int:
        while True:  # a 409 secrets_busy asks the client to retry, as this one does
            status, answer = local_system.call(
                "PUT",
                f"/v1/secrets/{provider}",
                tenant["live"],
                {"value": f"{provider}-{GITHUB_TOKEN}"},
            )
            if status != 409 or answer["error"]["type"] != "secrets_busy":
                return status

    with ThreadPoolExecutor(len(providers)) as pool:
        assert list(pool.map(store, providers)) == [200] * len(providers)
    _, listed = local_system.call("GET", "/v1/secrets", tenant["live"])
    assert [entry["provider"] for entry in listed["data"]] == providers


def test_a_worker_told_to_stop_hands_its_run_back_at_once(
    local_system: LocalSystem, pro: dict[str, Any], playground: Path
) -> None:
    marker = playground / "markers" / "long.pid"
    marker.unlink(missing_ok=True)
    task_id = submit(local_system, pro["live"], "sleep-long again")
    first_agent, first_worker = (int(v) for v in wait_for_file(marker).split())
    marker.unlink()
    stopped_at = time.monotonic()
    os.kill(first_worker, signal.SIGTERM)
    _, second_worker = (int(v) for v in wait_for_file(marker, seconds=20).split())
    # Re-sent at once rather than left to the 10 s visibility timeout: a hand-back.
    assert time.monotonic() - stopped_at < 8
    assert second_worker != first_worker
    assert not Path(f"/proc/{first_agent}").exists()
    _, usage = local_system.call("GET", "/v1/usage", pro["live"])
    assert usage["concurrency"]["in_use"] == 1
    local_system.call("POST", f"/v1/tasks/{task_id}/cancel", pro["live"])
    assert wait_for(local_system, pro["live"], task_id, FINAL)["status"] == "cancelled"

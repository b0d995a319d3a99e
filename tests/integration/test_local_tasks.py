"""The task API over HTTP against local mode: the spec's shapes, tier rules, quota, cancel,
isolation and usage."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import boto3
import pytest

from outpost.data.queues import TASK_QUEUES
from outpost.data.tables import TASKS
from outpost.data.tasks import TaskRepository
from outpost.models import TIERS, Environment, Executor, Task, Tier
from outpost.services.dispatch import RunMessage
from tests.integration.conftest import LocalSystem

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]
# These tests look at tasks while they are queued: no worker takes them.
LOCAL_WORKERS = 0

TASK = {
    "repo": "octo-org/hello-world",
    "task": "Implement feature X",
    "executor": "claude",
    "context": "standard",
}


@pytest.fixture(scope="module")
def free(local_system: LocalSystem) -> dict[str, Any]:
    return local_system.onboard("free", "free@tasks.example")


@pytest.fixture(scope="module")
def pro(local_system: LocalSystem) -> dict[str, Any]:
    return local_system.onboard("pro", "pro@tasks.example")


def test_submit_and_get_have_the_specs_shapes(
    local_system: LocalSystem, pro: dict[str, Any]
) -> None:
    status, submitted = local_system.call("POST", "/v1/tasks", pro["live"], TASK)
    assert status == 202
    assert set(submitted) == {"task_id", "status", "estimated_wait"}
    assert submitted["status"] == "queued"
    status, task = local_system.call("GET", f"/v1/tasks/{submitted['task_id']}", pro["live"])
    assert status == 200
    for field in (
        "task_id",
        "status",
        "executor",
        "started_at",
        "completed_at",
        "output_url",
        "changes",
    ):
        assert field in task
    assert (task["executor"], task["repo"], len(task["runs"])) == ("claude", TASK["repo"], 1)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"repo": "nope"}, 422),
        ({"task": ""}, 422),
        ({"task": "x" * 10_001}, 422),
        ({"executor": "copilot"}, 422),
        ({"context": "all"}, 422),
    ],
)
def test_bad_submissions(
    local_system: LocalSystem, pro: dict[str, Any], change: dict[str, Any], status: int
) -> None:
    assert local_system.call("POST", "/v1/tasks", pro["live"], {**TASK, **change})[0] == status


def test_malformed_json(local_system: LocalSystem, pro: dict[str, Any]) -> None:
    status, body = local_system.call("POST", "/v1/tasks", pro["live"], raw=b'{"repo": "a/b",')
    assert (status, body["error"]["type"]) == (400, "invalid_json")


def test_free_tier_rules_quota_and_usage(local_system: LocalSystem, free: dict[str, Any]) -> None:
    status, body = local_system.call(
        "POST", "/v1/tasks", free["live"], {**TASK, "executor": "gemini"}
    )
    assert (status, body["error"]["type"]) == (403, "executor_not_allowed")
    for _ in range(10):
        assert local_system.call("POST", "/v1/tasks", free["live"], TASK)[0] == 202
    status, body, headers = local_system.call_with_headers("POST", "/v1/tasks", free["live"], TASK)
    if body["error"]["type"] == "rate_limited":  # a throttle first: wait it out, then ask again
        time.sleep(float(headers["Retry-After"]))
        status, body, headers = local_system.call_with_headers(
            "POST", "/v1/tasks", free["live"], TASK
        )
    assert (status, body["error"]["type"]) == (429, "quota_exceeded")
    assert 0 < int(headers["Retry-After"]) <= 24 * 3600
    assert local_system.call("POST", "/v1/tasks", free["test"], TASK)[0] == 202  # counted apart
    status, usage = local_system.call("GET", "/v1/usage", free["live"])
    assert status == 200
    assert (usage["requests"], usage["quota"], usage["tier"]) == (10, 10, "free")
    assert usage["today"] == {"requests": 10, "limit": 10}
    assert local_system.call("GET", "/v1/usage", free["test"])[1]["requests"] == 1


def test_cancel_and_isolation(
    local_system: LocalSystem, pro: dict[str, Any], free: dict[str, Any]
) -> None:
    _, submitted = local_system.call("POST", "/v1/tasks", pro["live"], TASK)
    path = f"/v1/tasks/{submitted['task_id']}"
    assert local_system.call("GET", path, free["live"])[0] == 404
    assert local_system.call("GET", path, pro["test"])[0] == 404
    assert local_system.call("POST", f"{path}/cancel", free["live"])[0] == 404
    status, cancelled = local_system.call("POST", f"{path}/cancel", pro["live"])
    assert (status, cancelled["status"]) == (200, "cancelled")
    status, listing = local_system.call("GET", "/v1/tasks?status=cancelled", pro["live"])
    assert submitted["task_id"] in [t["task_id"] for t in listing["data"]]
    assert all(t["status"] == "cancelled" for t in listing["data"])


def test_a_run_left_without_its_message_is_sent_by_the_sweeper(
    local_system: LocalSystem, pro: dict[str, Any]
) -> None:
    """A crash between the write and the send, simulated by writing a task straight into
    local mode's DynamoDB: the sweeper (every 5 s locally) must queue it."""
    aws = {
        "endpoint_url": local_system.aws_endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    orphan = Task.submit(
        tenant_id=UUID(pro["tenant"]["tenant_id"]),
        environment=Environment.LIVE,
        repo="o/r",
        task="written, never sent",
        executor=Executor.CLAUDE,
        limits=TIERS[Tier.PRO],
    )
    TaskRepository(boto3.client("dynamodb", **aws), TASKS.table_name("local")).create(orphan)
    sqs = boto3.client("sqs", **aws)
    queue_url = sqs.get_queue_url(QueueName=TASK_QUEUES[Tier.PRO].queue_name("local"))["QueueUrl"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            if RunMessage.model_validate_json(message["Body"]).task_id == orphan.task_id:
                return
    raise AssertionError("the sweeper never sent the orphaned run")


def test_a_tenant_flooding_the_api_is_throttled_by_its_tier(local_system: LocalSystem) -> None:
    flooder = local_system.onboard("free", "flood@tasks.example")
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(
                lambda _: local_system.call(
                    "GET", "/v1/tasks", flooder["live"], honour_throttling=False
                ),
                range(TIERS[Tier.FREE].burst + 15),
            )
        )
    throttled = [body for status, body in answers if status == 429]
    assert throttled, "a free tenant got past its burst without a 429"
    assert {body["error"]["type"] for body in throttled} == {"rate_limited"}
    # Another tenant is not affected by the flood.
    assert (
        local_system.call(
            "GET",
            "/v1/usage",
            local_system.onboard("free", "calm@tasks.example")["live"],
            honour_throttling=False,
        )[0]
        == 200
    )


def test_idempotent_replay_and_mismatch_over_http(
    local_system: LocalSystem, pro: dict[str, Any]
) -> None:
    key = {"idempotency-key": "checkout-7"}  # the header name is matched case-insensitively
    first = local_system.call("POST", "/v1/tasks", pro["live"], TASK, headers=key)
    again = local_system.call(
        "POST", "/v1/tasks", pro["live"], TASK, headers={"Idempotency-Key": "checkout-7"}
    )
    assert first[0] == again[0] == 202
    assert first[1]["task_id"] == again[1]["task_id"]
    status, body = local_system.call(
        "POST", "/v1/tasks", pro["live"], {**TASK, "task": "else"}, headers=key
    )
    assert (status, body["error"]["type"]) == (422, "idempotency_key_mismatch")
    other = local_system.call("POST", "/v1/tasks", pro["test"], TASK, headers=key)
    assert other[0] == 202
    assert other[1]["task_id"] != first[1]["task_id"]  # test keys have their own scope

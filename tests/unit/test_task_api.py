"""The task API through API Gateway proxy events on moto: submission, quota, tier rules,
reads, listing, cancel, usage, and the sweeper that re-sends what a crash left behind."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import boto3
import pytest

from outpost.data.tasks import TaskRepository
from outpost.data.tenants import TenantRepository
from outpost.data.usage import UsageRepository
from outpost.models import TIERS, Agent, Environment, Executor, Scope, Task, TaskStatus, Tier
from outpost.models.usage import UsageKind, UsageRecord
from outpost.services.dispatch import RunMessage, TaskDispatcher, sweep
from tests.unit.api import Api, principal
from tests.unit.conftest import Store

TASK = {
    "repo": "octo-org/hello-world",
    "task": "Add a README",
    "executor": "claude",
    "context": "standard",
}


def messages(api: Api, tier: Tier) -> list[RunMessage]:
    sqs = boto3.client("sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=api.queue_urls[tier], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        found.extend(RunMessage.model_validate_json(m["Body"]) for m in batch)
    return found


def tenant(api: Api, tier: Tier = Tier.PRO, email: str | None = None) -> UUID:
    created = api.new_tenant(email or f"{uuid4().hex[:8]}@acme.example", tier=tier.value)
    return UUID(created["tenant_id"])


def test_submission_is_queued_with_one_message_per_run(api: Api) -> None:
    me = principal(tenant(api), tier=Tier.PRO)
    status, body = api.call("POST", "/v1/tasks", me, TASK)
    assert status == 202
    assert body["task_id"].startswith("tsk_")
    assert body["status"] == "queued"
    assert body["estimated_wait"].endswith(("s", "m"))
    (message,) = messages(api, Tier.PRO)
    assert (message.task_id, message.executor, message.tenant_id) == (
        body["task_id"],
        Agent.CLAUDE,
        me.tenant_id,
    )
    assert (
        TaskRepository(api.store.client, api.store.tasks).undispatched(
            datetime.now(UTC) + timedelta(days=1)
        )
        == []
    )


def test_all_fans_out_to_every_agent_the_tier_allows(api: Api) -> None:
    pro = principal(tenant(api, Tier.PRO), tier=Tier.PRO)
    status, body = api.call("POST", "/v1/tasks", pro, {**TASK, "executor": "all"})
    assert status == 202
    assert sorted(m.executor for m in messages(api, Tier.PRO)) == sorted(Agent)
    _, task = api.call("GET", f"/v1/tasks/{body['task_id']}", pro)
    assert [run["executor"] for run in task["runs"]] == [agent.value for agent in Agent]
    free = principal(tenant(api, Tier.FREE), tier=Tier.FREE)
    api.call("POST", "/v1/tasks", free, {**TASK, "executor": "all"})
    assert [m.executor for m in messages(api, Tier.FREE)] == [Agent.CLAUDE]


def test_a_tier_that_does_not_allow_the_executor_is_403(api: Api) -> None:
    free = principal(tenant(api, Tier.FREE), tier=Tier.FREE)
    status, body = api.call("POST", "/v1/tasks", free, {**TASK, "executor": "codex"})
    assert (status, body["error"]["type"]) == (403, "executor_not_allowed")
    _, usage = api.call("GET", "/v1/usage", free)
    assert usage["today"]["requests"] == 0  # a refused submission takes no quota


def test_the_eleventh_free_submission_is_429_with_retry_after(api: Api) -> None:
    free = principal(tenant(api, Tier.FREE), tier=Tier.FREE)
    for _ in range(10):
        assert api.call("POST", "/v1/tasks", free, TASK)[0] == 202
    status, body, headers = api.call_with_headers("POST", "/v1/tasks", free, TASK)
    assert (status, body["error"]["type"]) == (429, "quota_exceeded")
    assert 0 < int(headers["Retry-After"]) <= 24 * 3600
    _, usage = api.call("GET", "/v1/usage", free)
    assert usage["today"] == {"requests": 10, "limit": 10}
    assert usage["requests"] == 10


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**TASK, "repo": "not a repo"}, 422),
        ({**TASK, "repo": "-bad/name"}, 422),
        ({**TASK, "task": ""}, 422),
        ({**TASK, "task": "   "}, 422),
        ({**TASK, "task": "x" * 10_001}, 422),
        ({**TASK, "executor": "copilot"}, 422),
        ({**TASK, "context": "everything"}, 422),
        ({**TASK, "ref": "--upload-pack=evil"}, 422),
        ({**TASK, "surprise": 1}, 422),
        ({"repo": "a/b"}, 422),
    ],
)
def test_bad_submissions_are_refused_and_take_nothing(
    api: Api, body: dict[str, Any], status: int
) -> None:
    me = principal(tenant(api))
    got, error = api.call("POST", "/v1/tasks", me, body)
    assert (got, error["error"]["type"]) == (status, "validation_error")
    assert messages(api, Tier.PRO) == []
    assert api.call("GET", "/v1/usage", me)[1]["today"]["requests"] == 0


def test_malformed_json_is_400(api: Api) -> None:
    me = principal(tenant(api))
    status, body = api.call("POST", "/v1/tasks", me, raw_body='{"repo": ')
    assert (status, body["error"]["type"]) == (400, "invalid_json")


def test_get_shows_the_spec_fields_and_hides_other_tenants_and_environments(api: Api) -> None:
    owner_id = tenant(api)
    owner = principal(owner_id)
    _, submitted = api.call("POST", "/v1/tasks", owner, {**TASK, "ref": "main"})
    status, task = api.call("GET", f"/v1/tasks/{submitted['task_id']}", owner)
    assert status == 200
    assert {
        "task_id",
        "status",
        "executor",
        "started_at",
        "completed_at",
        "output_url",
        "changes",
        "repo",
        "created_at",
        "exit_code",
        "error",
        "runs",
    } <= set(task)
    assert (task["status"], task["repo"], task["ref"], task["executor"]) == (
        "queued",
        TASK["repo"],
        "main",
        "claude",
    )
    stranger = principal(tenant(api))
    foreign = api.call("GET", f"/v1/tasks/{submitted['task_id']}", stranger)
    missing = api.call("GET", "/v1/tasks/tsk_" + "0" * 24, owner)
    assert foreign[0] == missing[0] == 404
    assert foreign[1]["error"]["message"] == missing[1]["error"]["message"]
    test_key = principal(owner_id, environment=Environment.TEST)
    assert api.call("GET", f"/v1/tasks/{submitted['task_id']}", test_key)[0] == 404


def test_listing_is_newest_first_filtered_paginated_and_per_environment(api: Api) -> None:
    owner_id = tenant(api)
    live, test = principal(owner_id), principal(owner_id, environment=Environment.TEST)
    submitted = [api.call("POST", "/v1/tasks", live, TASK)[1]["task_id"] for _ in range(3)]
    api.call("POST", "/v1/tasks", test, TASK)
    _, first = api.call("GET", "/v1/tasks", live, query={"limit": "2"})
    _, second = api.call(
        "GET", "/v1/tasks", live, query={"limit": "2", "cursor": first["next_cursor"]}
    )
    assert [t["task_id"] for t in first["data"] + second["data"]] == submitted[::-1]
    assert len(api.call("GET", "/v1/tasks", test)[1]["data"]) == 1
    assert api.call("GET", "/v1/tasks", live, query={"status": "failed"})[1]["data"] == []
    assert api.call("GET", "/v1/tasks", live, query={"status": "nope"})[0] == 422
    assert api.call("GET", "/v1/tasks", live, query={"cursor": "junk"})[0] == 400
    stranger = principal(tenant(api))
    assert api.call("GET", "/v1/tasks", stranger, query={"cursor": first["next_cursor"]})[0] == 400


def test_cancel_a_queued_task_at_once_and_only_once(api: Api) -> None:
    me = principal(tenant(api))
    _, submitted = api.call("POST", "/v1/tasks", me, TASK)
    status, task = api.call("POST", f"/v1/tasks/{submitted['task_id']}/cancel", me)
    assert status == 200
    assert (task["status"], task["runs"][0]["status"], task["cancel_requested"]) == (
        "cancelled",
        "cancelled",
        True,
    )
    assert task["completed_at"]
    status, body = api.call("POST", f"/v1/tasks/{submitted['task_id']}/cancel", me)
    assert (status, body["error"]["type"]) == (409, "conflict")
    assert (
        api.call("POST", f"/v1/tasks/{submitted['task_id']}/cancel", principal(tenant(api)))[0]
        == 404
    )


def test_cancel_of_a_running_task_asks_the_worker(api: Api, store: Store) -> None:
    me = principal(tenant(api))
    _, submitted = api.call("POST", "/v1/tasks", me, TASK)
    _, task = api.call("GET", f"/v1/tasks/{submitted['task_id']}", me)
    store.client.update_item(  # a worker has claimed the run
        TableName=store.tasks,
        Key={
            "task_id": {"S": submitted["task_id"]},
            "sk": {"S": f"run#{task['runs'][0]['run_id']}"},
        },
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": "processing"}},
    )
    _, cancelled = api.call("POST", f"/v1/tasks/{submitted['task_id']}/cancel", me)
    assert cancelled["cancel_requested"] is True
    assert cancelled["runs"][0]["status"] == "processing"
    assert cancelled["status"] == "processing"


def test_usage_matches_what_was_submitted_per_environment(api: Api) -> None:
    owner_id = tenant(api)
    live, test = principal(owner_id), principal(owner_id, environment=Environment.TEST)
    for _ in range(3):
        api.call("POST", "/v1/tasks", live, TASK)
    api.call("POST", "/v1/tasks", test, TASK)
    _, usage = api.call("GET", "/v1/usage", live)
    assert usage["period"] == datetime.now(UTC).strftime("%Y-%m")
    assert (usage["requests"], usage["quota"], usage["tier"]) == (3, 100, "pro")
    assert usage["today"] == {"requests": 3, "limit": 100}
    assert usage["concurrency"] == {"in_use": 0, "limit": 3}
    assert api.call("GET", "/v1/usage", test)[1]["requests"] == 1


def test_scopes_are_enforced(api: Api) -> None:
    reader = principal(tenant(api), Scope.TASKS_READ)
    assert api.call("POST", "/v1/tasks", reader, TASK)[0] == 403
    assert api.call("GET", "/v1/usage", reader)[0] == 403
    assert api.call("GET", "/v1/tasks", reader)[0] == 200


def test_the_sweeper_sends_what_a_crash_left_without_a_message(api: Api, store: Store) -> None:
    owner = tenant(api, Tier.ENTERPRISE)
    tasks = TaskRepository(store.client, store.tasks)
    orphan = Task.submit(
        tenant_id=owner,
        environment=Environment.LIVE,
        repo="o/r",
        task="t",
        executor=Executor.CLAUDE,
        limits=TIERS[Tier.ENTERPRISE],
    )
    tasks.create(orphan)  # written, then the submitter died before sending
    dispatcher = TaskDispatcher(boto3.client("sqs"), api.queue_urls, tasks)
    tenants = TenantRepository(store.client, store.tenants)
    assert (
        sweep(tasks, tenants, dispatcher, orphan.created_at - timedelta(seconds=1)) == 0
    )  # too young
    assert sweep(tasks, tenants, dispatcher, orphan.created_at + timedelta(seconds=1)) == 1
    (message,) = messages(api, Tier.ENTERPRISE)
    assert message.run_id == orphan.runs[0].run_id
    assert sweep(tasks, tenants, dispatcher, datetime.now(UTC) + timedelta(days=1)) == 0


def test_estimated_wait_follows_queue_depth_and_recent_run_times(api: Api, store: Store) -> None:
    owner = tenant(api)
    me = principal(owner)
    usage = UsageRepository(store.client, store.usage)
    for _ in range(3):
        usage.record(
            UsageRecord(
                tenant_id=owner,
                environment=Environment.LIVE,
                kind=UsageKind.RUN,
                task_id="tsk_" + "1" * 24,
                duration_ms=60_000,
                outcome=TaskStatus.COMPLETED,
            )
        )
    first = api.call("POST", "/v1/tasks", me, TASK)[1]["estimated_wait"]
    for _ in range(9):
        last = api.call("POST", "/v1/tasks", me, TASK)[1]["estimated_wait"]
    assert first == "0s"  # nothing ahead of it
    assert last == "9m"  # nine runs ahead, one minute each, nothing yet in flight
    assert json.dumps(last)

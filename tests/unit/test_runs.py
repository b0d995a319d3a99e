"""A run's life on moto: leased claims, hand-backs, ends recorded once, the dead-letter handler
and the sweeper that queues again what a dead worker held."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from outpost.data.audit import AuditRepository
from outpost.data.queues import TASK_QUEUES
from outpost.data.tasks import TaskRepository
from outpost.data.tenants import TenantRepository
from outpost.data.usage import UsageRepository
from outpost.handlers import dead_letters
from outpost.local.lambda_context import LocalLambdaContext
from outpost.models import TIERS, Environment, Executor, Task, TaskStatus, Tenant, Tier
from outpost.models.common import utc_now
from outpost.models.task import Changes
from outpost.models.usage import UsageKind
from outpost.services.audit import AuditService
from outpost.services.dispatch import RunMessage, TaskDispatcher, reclaim_lost_runs
from outpost.services.runs import RunOutcomes
from outpost.services.slots import ConcurrencySlots
from tests.unit.conftest import Store

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=120)


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    tasks = TaskRepository(store.client, store.tasks)
    tenants = TenantRepository(store.client, store.tenants)
    tenant = Tenant(name="Acme", email="ops@acme.example", tier=Tier.FREE)
    tenants.create(tenant)
    task = Task.submit(
        tenant_id=tenant.tenant_id,
        environment=Environment.LIVE,
        repo="octo/hello",
        task="Add notes",
        executor=Executor.CLAUDE,
        limits=TIERS[Tier.FREE],
    )
    tasks.create(task)
    slots = ConcurrencySlots(store.client, store.usage, LEASE)
    audit = AuditRepository(store.client, store.audit, timedelta(days=90))
    outcomes = RunOutcomes(
        tasks=tasks,
        usage=UsageRepository(store.client, store.usage),
        slots=slots,
        audit=AuditService([audit.put]),
    )
    return {
        "tasks": tasks,
        "tenants": tenants,
        "task": task,
        "run": task.runs[0],
        "slots": slots,
        "outcomes": outcomes,
        "audit": audit,
        "usage": UsageRepository(store.client, store.usage),
    }


def test_a_run_is_claimed_once_and_counts_the_attempt(world: dict) -> None:
    tasks, run = world["tasks"], world["run"]
    claimed = tasks.claim_run(run.task_id, run.run_id, "worker-a", T0 + LEASE, T0)
    assert claimed is not None
    assert (claimed.status, claimed.attempts, claimed.lease_owner) == (
        TaskStatus.PROCESSING,
        1,
        "worker-a",
    )
    assert (
        tasks.claim_run(run.task_id, run.run_id, "worker-b", T0 + LEASE, T0 + timedelta(seconds=5))
        is None
    )


def test_a_dead_workers_run_is_claimed_again_once_its_lease_expires(world: dict) -> None:
    tasks, run = world["tasks"], world["run"]
    tasks.claim_run(run.task_id, run.run_id, "worker-a", T0 + LEASE, T0)
    later = T0 + LEASE + timedelta(seconds=1)
    again = tasks.claim_run(run.task_id, run.run_id, "worker-b", later + LEASE, later)
    assert again is not None
    assert (again.lease_owner, again.attempts) == ("worker-b", 2)
    assert not tasks.renew_lease(run.task_id, run.run_id, "worker-a", later + LEASE)
    assert tasks.renew_lease(run.task_id, run.run_id, "worker-b", later + LEASE)


def test_a_hand_back_that_is_not_an_attempt_takes_the_count_back(world: dict) -> None:
    tasks, run = world["tasks"], world["run"]
    tasks.claim_run(run.task_id, run.run_id, "worker-a", T0 + LEASE, T0)
    assert tasks.hand_back_run(run.task_id, run.run_id, "worker-a", counted=False)
    back = tasks.get_run(run.task_id, run.run_id)
    assert (back.status, back.attempts, back.lease_owner) == (TaskStatus.QUEUED, 0, None)
    tasks.claim_run(run.task_id, run.run_id, "worker-a", T0 + LEASE, T0)
    assert tasks.hand_back_run(
        run.task_id, run.run_id, "worker-a", counted=True, error="clone failed"
    )
    back = tasks.get_run(run.task_id, run.run_id)
    assert (back.attempts, back.error) == (1, "clone failed")
    assert not tasks.hand_back_run(run.task_id, run.run_id, "worker-a", counted=True)


def test_a_cancelled_or_finished_run_is_never_claimed(world: dict) -> None:
    tasks, run = world["tasks"], world["run"]
    tasks.cancel_queued_run(run.task_id, run.run_id, T0)
    assert tasks.claim_run(run.task_id, run.run_id, "worker-a", T0 + LEASE, T0) is None


def test_the_end_is_recorded_once_by_the_lease_holder(world: dict) -> None:
    tasks, run, outcomes, slots = world["tasks"], world["run"], world["outcomes"], world["slots"]
    tasks.claim_run(run.task_id, run.run_id, "worker-a", T0 + LEASE, T0)
    tasks.hand_back_run(run.task_id, run.run_id, "worker-a", counted=True, error="clone failed")
    claimed = tasks.claim_run(run.task_id, run.run_id, "worker-a", T0 + LEASE, T0)
    slots.acquire(run.tenant_id, run.run_id, 1)
    done = claimed.model_copy(
        update={
            "status": TaskStatus.COMPLETED,
            "exit_code": 0,
            "changes": Changes.NONE,
            "error": None,
        }
    )
    assert outcomes.finish(done, "worker-b", "req") is None, "not the lease holder"
    task = outcomes.finish(done, "worker-a", "req")
    assert task is not None
    assert task.status is TaskStatus.COMPLETED
    assert task.runs[0].error is None, "an earlier attempt's error does not survive"
    assert slots.in_use(run.tenant_id) == 0
    assert outcomes.finish(done, "worker-a", "req") is None, "ended once"
    entries = world["audit"].query(run.tenant_id).items
    assert [e.action for e in entries] == ["task_completed"]
    runs = [
        e
        for e in world["usage"].events(run.tenant_id, Environment.LIVE, utc_now().strftime("%Y-%m"))
        if e.kind is UsageKind.RUN
    ]
    assert [(e.run_id, e.outcome, e.exit_code) for e in runs] == [
        (run.run_id, TaskStatus.COMPLETED, 0)
    ]


def test_dead_letters_fail_the_run_with_its_last_error(
    world: dict, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks, run, slots = world["tasks"], world["run"], world["slots"]
    for spec_env, name in (
        ("OUTPOST_TASKS_TABLE", store.tasks),
        ("OUTPOST_USAGE_TABLE", store.usage),
        ("OUTPOST_AUDIT_TABLE", store.audit),
    ):
        monkeypatch.setenv(spec_env, name)
    monkeypatch.delenv("OUTPOST_AUDIT_QUEUE_URL", raising=False)
    dead_letters._dependencies.cache_clear()
    tasks.claim_run(run.task_id, run.run_id, "worker-a", T0 + LEASE, T0)
    slots.acquire(run.tenant_id, run.run_id, 1)
    tasks.hand_back_run(
        run.task_id, run.run_id, "worker-a", counted=True, error="git clone failed: not found"
    )
    message = RunMessage(
        task_id=run.task_id,
        run_id=run.run_id,
        tenant_id=run.tenant_id,
        executor=run.executor,
        tier=Tier.FREE,
    )
    event = {
        "Records": [
            {"messageId": "m1", "body": message.model_dump_json()},
            {"messageId": "m2", "body": "{not json"},
        ]
    }
    assert dead_letters.handler(event, LocalLambdaContext("dead-letters")) == {
        "batchItemFailures": []
    }
    task = tasks.get(run.tenant_id, run.task_id)
    assert task.status is TaskStatus.FAILED
    assert task.runs[0].error == "gave up after 1 attempt(s): git clone failed: not found"
    assert slots.in_use(run.tenant_id) == 0
    assert dead_letters.handler(event, LocalLambdaContext("dead-letters")) == {
        "batchItemFailures": []
    }  # a replay changes nothing
    actions = [e.action for e in world["audit"].query(run.tenant_id).items]
    assert actions == ["task_failed"]
    dead_letters._dependencies.cache_clear()


def test_the_sweeper_queues_again_a_run_whose_worker_died(world: dict, store: Store) -> None:
    tasks, run, slots = world["tasks"], world["run"], world["slots"]
    sqs = boto3.client("sqs")
    urls = {
        tier: sqs.create_queue(QueueName=spec.queue_name("unit"))["QueueUrl"]
        for tier, spec in TASK_QUEUES.items()
    }
    dispatcher = TaskDispatcher(sqs, urls, tasks)
    now = datetime.now(UTC)
    tasks.claim_run(
        run.task_id,
        run.run_id,
        "dead-worker",
        now - timedelta(minutes=20),
        now - timedelta(minutes=22),
    )
    assert (
        reclaim_lost_runs(tasks, world["tenants"], dispatcher, slots, now - timedelta(minutes=15))
        == 1
    )
    back = tasks.get_run(run.task_id, run.run_id)
    assert (back.status, back.attempts, back.lease_owner) == (TaskStatus.QUEUED, 1, None)
    (message,) = sqs.receive_message(QueueUrl=urls[Tier.FREE])["Messages"]
    assert json.loads(message["Body"])["run_id"] == run.run_id
    assert reclaim_lost_runs(tasks, world["tenants"], dispatcher, slots, now) == 0


def test_a_live_lease_is_left_alone_by_the_sweeper(world: dict) -> None:
    tasks, run = world["tasks"], world["run"]
    now = datetime.now(UTC)
    tasks.claim_run(run.task_id, run.run_id, "live-worker", now + LEASE, now)
    assert tasks.expired_leases(now) == []
    assert tasks.get_run(run.task_id, run.run_id).status is TaskStatus.PROCESSING

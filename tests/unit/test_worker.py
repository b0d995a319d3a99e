"""The worker in-process on moto, with a fake ECS task protection: a job is protected while it
runs, and a worker with a job limit exits after that many jobs."""

import os
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from outpost.data.buckets import RUNS
from outpost.data.queues import TASK_QUEUES
from outpost.data.secrets import TenantSecrets
from outpost.data.tasks import TaskRepository
from outpost.data.tenants import TenantRepository
from outpost.data.usage import UsageRepository
from outpost.local.repositories import seed_repository
from outpost.models import TIERS, Environment, Executor, Task, TaskStatus, Tenant, Tier
from outpost.models.secret import Provider
from outpost.services.audit import AuditService
from outpost.services.dispatch import TaskDispatcher
from outpost.services.runs import RunOutcomes
from outpost.services.slots import ConcurrencySlots
from outpost.worker.sandbox import AgentUser
from outpost.worker.settings import WorkerSettings
from outpost.worker.worker import Stores, Worker
from tests.unit.conftest import ENVIRONMENT, Store

AGENT = """#!/bin/sh
echo "$2" > "$(dirname "$0")/last-prompt"
echo change >> CHANGES.md
echo '{"is_error": false}'
"""


class FakeProtection:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def protect(self) -> None:
        self.calls.append("protect")

    def unprotect(self) -> None:
        self.calls.append("unprotect")


@pytest.fixture
def repos(tmp_path: Path) -> Path:
    seed_repository(tmp_path / "repos", "octo/hello", {"README.md": "# Hello\n"})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "claude").write_text(AGENT)
    (bin_dir / "claude").chmod(0o755)
    return tmp_path


def test_a_job_runs_protected_and_a_job_limit_ends_the_worker(
    store: Store, repos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{repos / 'bin'}:{os.environ['PATH']}")
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    urls = {
        t: sqs.create_queue(QueueName=spec.queue_name(ENVIRONMENT))["QueueUrl"]
        for t, spec in TASK_QUEUES.items()
    }
    s3.create_bucket(Bucket=RUNS.local_name(ENVIRONMENT))
    settings = WorkerSettings.from_environ(
        {
            **{TASK_QUEUES[t].env_var: url for t, url in urls.items()},
            "OUTPOST_TASKS_TABLE": store.tasks,
            "OUTPOST_TENANTS_TABLE": store.tenants,
            "OUTPOST_USAGE_TABLE": store.usage,
            "OUTPOST_AUDIT_TABLE": store.audit,
            "OUTPOST_ENVIRONMENT": ENVIRONMENT,
            RUNS.env_var: RUNS.local_name(ENVIRONMENT),
            "OUTPOST_GIT_BASE_URL": f"file://{repos / 'repos'}",
            "OUTPOST_WORKSPACE_ROOT": str(repos / "workspaces"),
            "OUTPOST_JOBS_PER_WORKER": "1",
            "OUTPOST_POLL_WAIT_SECONDS": "0",
            "OUTPOST_HEARTBEAT_SECONDS": "1",
        }
    )
    tasks = TaskRepository(store.client, store.tasks)
    tenants = TenantRepository(store.client, store.tenants)
    slots = ConcurrencySlots(store.client, store.usage, timedelta(seconds=settings.lease_seconds))
    secrets = TenantSecrets(
        secrets=boto3.client("secretsmanager"),
        dynamodb=store.client,
        usage_table=store.usage,
        deployment=ENVIRONMENT,
    )
    dispatcher = TaskDispatcher(sqs, urls, tasks)
    protection = FakeProtection()
    stores = Stores(
        tasks=tasks,
        tenants=tenants,
        secrets=secrets,
        slots=slots,
        dispatcher=dispatcher,
        outcomes=RunOutcomes(
            tasks=tasks,
            usage=UsageRepository(store.client, store.usage),
            slots=slots,
            audit=AuditService([]),
        ),
        sqs=sqs,
        s3=s3,
        protection=protection,
    )
    tenant = Tenant(name="Acme", email="ops@acme.example", tier=Tier.PRO)
    tenants.create(tenant)
    secrets.put(tenant.tenant_id, Provider.ANTHROPIC, "sk-ant-0123456789abcdef")
    submitted = [
        Task.submit(
            tenant_id=tenant.tenant_id,
            environment=Environment.LIVE,
            repo="octo/hello",
            task=f"Task {n}",
            executor=Executor.CLAUDE,
            limits=TIERS[Tier.PRO],
        )
        for n in range(2)
    ]
    for task in submitted:
        tasks.create(task)
        dispatcher.dispatch(task, Tier.PRO)

    worker = Worker(settings, stores, AgentUser(None, None, "test"))
    worker.serve()  # returns after its one job

    statuses = sorted(tasks.get(tenant.tenant_id, t.task_id).status for t in submitted)
    assert statuses == [TaskStatus.COMPLETED, TaskStatus.QUEUED]
    assert worker.jobs_run == 1
    assert protection.calls[0] == "protect"
    assert protection.calls[-1] == "unprotect"
    assert slots.in_use(tenant.tenant_id) == 0
    assert list((repos / "workspaces").iterdir()) == []
    assert (repos / "bin" / "last-prompt").read_text().startswith("Task ")

"""Putting runs on their tier's queue: one message per run.

One message per run (rather than one per task that a worker fans out): each run takes its own
concurrency slot and lease, is retried and dead-lettered on its own, and the runs of an
``all`` task spread over several workers at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from outpost.data.queues import TASK_QUEUES
from outpost.data.tasks import TaskRepository
from outpost.data.tenants import TenantRepository
from outpost.models.task import Run, RunId, Task, TaskId
from outpost.models.tier import Agent, Tier
from outpost.services.slots import ConcurrencySlots
from outpost.settings import RuntimeSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class TaskQueueSettings(RuntimeSettings):
    """The tier queues' URLs, as the TaskQueue construct and local mode pass them."""

    free_queue_url: str = Field(alias=TASK_QUEUES[Tier.FREE].env_var)
    pro_queue_url: str = Field(alias=TASK_QUEUES[Tier.PRO].env_var)
    enterprise_queue_url: str = Field(alias=TASK_QUEUES[Tier.ENTERPRISE].env_var)

    @property
    def queue_urls(self) -> dict[Tier, str]:
        return {
            Tier.FREE: self.free_queue_url,
            Tier.PRO: self.pro_queue_url,
            Tier.ENTERPRISE: self.enterprise_queue_url,
        }


class RunMessage(BaseModel):
    """The body of a queue message: which run to execute, and for whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: TaskId
    run_id: RunId
    tenant_id: UUID
    executor: Agent
    tier: Tier


class TaskDispatcher:
    def __init__(
        self, sqs: SQSClient, queue_urls: Mapping[Tier, str], tasks: TaskRepository
    ) -> None:
        self._sqs = sqs
        self._queue_urls = queue_urls
        self._tasks = tasks

    def dispatch(self, task: Task, tier: Tier) -> None:
        for run in task.runs:
            self.send(run, tier)

    def send(self, run: Run, tier: Tier, delay_seconds: int = 0) -> None:
        message = RunMessage(
            task_id=run.task_id,
            run_id=run.run_id,
            tenant_id=run.tenant_id,
            executor=run.executor,
            tier=tier,
        )
        self._sqs.send_message(
            QueueUrl=self._queue_urls[tier],
            MessageBody=message.model_dump_json(),
            DelaySeconds=delay_seconds,
        )
        self._tasks.mark_dispatched(run.task_id, run.run_id)

    def depth(self, tier: Tier) -> tuple[int, int]:
        """Messages waiting, and messages being worked on, in the tier's queue."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_urls[tier],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes.get("ApproximateNumberOfMessages", 0)),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )


def sweep(
    tasks: TaskRepository,
    tenants: TenantRepository,
    dispatcher: TaskDispatcher,
    queued_before: datetime,
) -> int:
    """Send the message of every run a crash left without one; how many were sent. A run
    sent twice is harmless: the worker's claim takes each run once."""
    sent = 0
    for run in tasks.undispatched(queued_before):
        tenant = tenants.get(run.tenant_id)
        dispatcher.send(run, tenant.tier if tenant else Tier.FREE)
        sent += 1
    return sent


def reclaim_lost_runs(
    tasks: TaskRepository,
    tenants: TenantRepository,
    dispatcher: TaskDispatcher,
    slots: ConcurrencySlots,
    expired_before: datetime,
) -> int:
    """Queue again every run whose worker died and whose message did not bring it back (it
    was dropped, or dead-lettered while the run looked alive), and reclaim its tenant's
    expired slots; how many runs were queued again. The claim still counts attempts, so a
    run that keeps losing its worker ends failed after the third."""
    reclaimed = 0
    for run in tasks.expired_leases(expired_before):
        slots.reclaim_expired(run.tenant_id)
        if tasks.release_expired_lease(run):
            tenant = tenants.get(run.tenant_id)
            dispatcher.send(run, tenant.tier if tenant else Tier.FREE)
            reclaimed += 1
    return reclaimed

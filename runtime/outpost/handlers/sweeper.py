"""Scheduled: re-send the queue message of every run a crash left without one, and queue
again the runs whose worker died.

A submission writes its task, then sends one message per run; a process that dies between
the two leaves runs marked pending. Once a run has been pending longer than the grace period
(longer than any live submission takes), this sends its message. A run whose lease expired
longer ago than the lease grace (by then SQS would have delivered its message again) is
queued again, and its tenant's expired slots are reclaimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from pydantic import Field

from outpost.data.tables import TASKS, TENANTS, USAGE
from outpost.data.tasks import TaskRepository
from outpost.data.tenants import TenantRepository
from outpost.models.common import utc_now
from outpost.services.dispatch import (
    TaskDispatcher,
    TaskQueueSettings,
    reclaim_lost_runs,
    sweep,
)
from outpost.services.slots import ConcurrencySlots
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")

GRACE_ENV = "OUTPOST_SWEEP_GRACE_SECONDS"
LEASE_GRACE_ENV = "OUTPOST_LEASE_GRACE_SECONDS"
# Reclaiming slots that expired needs no lease of its own.
NO_LEASE = timedelta(0)


class SweeperSettings(TaskQueueSettings):
    tasks_table: str = Field(alias=TASKS.env_var)
    tenants_table: str = Field(alias=TENANTS.env_var)
    usage_table: str = Field(alias=USAGE.env_var)
    grace_seconds: int = Field(alias=GRACE_ENV, default=60, ge=1)
    lease_grace_seconds: int = Field(alias=LEASE_GRACE_ENV, default=900, ge=1)


@dataclass(frozen=True)
class Sweep:
    tasks: TaskRepository
    tenants: TenantRepository
    dispatcher: TaskDispatcher
    slots: ConcurrencySlots
    grace: timedelta
    lease_grace: timedelta


@cache
def _dependencies() -> Sweep:
    settings = SweeperSettings.from_environ()
    dynamodb = boto3.client("dynamodb")
    tasks = TaskRepository(dynamodb, settings.tasks_table)
    return Sweep(
        tasks=tasks,
        tenants=TenantRepository(dynamodb, settings.tenants_table),
        dispatcher=TaskDispatcher(boto3.client("sqs"), settings.queue_urls, tasks),
        slots=ConcurrencySlots(dynamodb, settings.usage_table, NO_LEASE),
        grace=timedelta(seconds=settings.grace_seconds),
        lease_grace=timedelta(seconds=settings.lease_grace_seconds),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    found = _dependencies()
    now = utc_now()
    sent = sweep(found.tasks, found.tenants, found.dispatcher, now - found.grace)
    if sent:
        logger.warning("re-sent runs left without a queue message", extra={"runs": sent})
    reclaimed = reclaim_lost_runs(
        found.tasks, found.tenants, found.dispatcher, found.slots, now - found.lease_grace
    )
    if reclaimed:
        logger.warning("queued again runs whose worker died", extra={"runs": reclaimed})
    return {"resent": sent, "reclaimed": reclaimed}

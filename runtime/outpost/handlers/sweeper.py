"""Scheduled: re-send the queue message of every run a crash left without one.

A submission writes its task, then sends one message per run; a process that dies between
the two leaves runs marked pending. Once a run has been pending longer than the grace period
(longer than any live submission takes), this sends its message.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from pydantic import Field

from outpost.data.tables import TASKS, TENANTS
from outpost.data.tasks import TaskRepository
from outpost.data.tenants import TenantRepository
from outpost.models.common import utc_now
from outpost.services.dispatch import TaskDispatcher, TaskQueueSettings, sweep

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")

GRACE_ENV = "OUTPOST_SWEEP_GRACE_SECONDS"


class SweeperSettings(TaskQueueSettings):
    tasks_table: str = Field(alias=TASKS.env_var)
    tenants_table: str = Field(alias=TENANTS.env_var)
    grace_seconds: int = Field(alias=GRACE_ENV, default=60, ge=1)


@cache
def _dependencies() -> tuple[TaskRepository, TenantRepository, TaskDispatcher, timedelta]:
    settings = SweeperSettings.from_environ()
    dynamodb = boto3.client("dynamodb")
    tasks = TaskRepository(dynamodb, settings.tasks_table)
    return (
        tasks,
        TenantRepository(dynamodb, settings.tenants_table),
        TaskDispatcher(boto3.client("sqs"), settings.queue_urls, tasks),
        timedelta(seconds=settings.grace_seconds),
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    tasks, tenants, dispatcher, grace = _dependencies()
    sent = sweep(tasks, tenants, dispatcher, utc_now() - grace)
    if sent:
        logger.warning("re-sent runs left without a queue message", extra={"runs": sent})
    return {"resent": sent}

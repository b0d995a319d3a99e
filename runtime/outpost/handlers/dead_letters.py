"""On the tier queues' dead-letter queue: a run whose every attempt failed ends failed, with
the last attempt's error, its slot released and its end audited."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from pydantic import Field, ValidationError

from outpost.data.tables import TASKS, USAGE
from outpost.data.tasks import TaskRepository
from outpost.data.usage import UsageRepository
from outpost.models.task import TaskStatus
from outpost.services.audit import AuditSettings
from outpost.services.dispatch import RunMessage
from outpost.services.runs import RunOutcomes
from outpost.services.slots import ConcurrencySlots
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")
# Releasing a slot needs no lease of its own.
NO_LEASE = timedelta(0)


class DeadLetterSettings(AuditSettings):
    tasks_table: str = Field(alias=TASKS.env_var)
    usage_table: str = Field(alias=USAGE.env_var)


@cache
def _dependencies() -> tuple[TaskRepository, RunOutcomes]:
    settings = DeadLetterSettings.from_environ()
    dynamodb = boto3.client("dynamodb")
    tasks = TaskRepository(dynamodb, settings.tasks_table)
    return tasks, RunOutcomes(
        tasks=tasks,
        usage=UsageRepository(dynamodb, settings.usage_table),
        slots=ConcurrencySlots(dynamodb, settings.usage_table, NO_LEASE),
        audit=settings.audit_service(dynamodb, boto3.client("sqs")),
    )


def fail_dead_letter(body: str, message_id: str) -> None:
    tasks, outcomes = _dependencies()
    try:
        message = RunMessage.model_validate_json(body)
    except ValidationError:
        logger.error("unreadable dead letter dropped", extra={"message_id": message_id})
        return
    run = tasks.get_run(message.task_id, message.run_id)
    if run is None or run.status.is_final:
        return
    reason = run.error or "no attempt finished"
    failed = run.model_copy(
        update={
            "status": TaskStatus.FAILED,
            "error": f"gave up after {run.attempts} attempt(s): {reason}",
        }
    )
    outcomes.finish(failed, owner=None, request_id=message_id)
    logger.warning("run failed through the dead-letter queue", extra={"run_id": run.run_id})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            fail_dead_letter(record["body"], record["messageId"])
        except Exception:
            logger.exception("dead letter not handled; it stays queued")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}

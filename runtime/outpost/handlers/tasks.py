"""Tasks and usage: /v1/tasks…, /v1/usage."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from pydantic import Field

from outpost.api.http import current_caller, json_response, new_resolver, parse_body
from outpost.api.schemas import TaskPage
from outpost.data.buckets import RUNS
from outpost.data.tables import IDEMPOTENCY, TASKS, USAGE
from outpost.data.tasks import TaskRepository
from outpost.data.usage import UsageRepository
from outpost.services.audit import AuditSettings
from outpost.services.dispatch import TaskDispatcher, TaskQueueSettings
from outpost.services.idempotency import HEADER, Submit, idempotent_submit
from outpost.services.quota import DailyQuota
from outpost.services.slots import ConcurrencySlots
from outpost.services.tasks import (
    ArtifactLink,
    SubmitTask,
    TaskListQuery,
    TaskService,
    UsageQuery,
)
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")
app = new_resolver()

# Leases matter to the workers that take slots; reading how many are in use needs none.
READ_ONLY_LEASE = timedelta(minutes=15)
OUTPUT_LINK_SECONDS = 3600


class TasksSettings(AuditSettings, TaskQueueSettings):
    tasks_table: str = Field(alias=TASKS.env_var)
    usage_table: str = Field(alias=USAGE.env_var)
    idempotency_table: str = Field(alias=IDEMPOTENCY.env_var)
    runs_bucket: str = Field(alias=RUNS.env_var)


@cache
def _service() -> TaskService:
    settings = TasksSettings.from_environ()
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    tasks = TaskRepository(dynamodb, settings.tasks_table)
    return TaskService(
        client=dynamodb,
        tasks=tasks,
        usage=UsageRepository(dynamodb, settings.usage_table),
        quota=DailyQuota(settings.usage_table),
        slots=ConcurrencySlots(dynamodb, settings.usage_table, READ_ONLY_LEASE),
        dispatcher=TaskDispatcher(sqs, settings.queue_urls, tasks),
        audit=settings.audit_service(dynamodb, sqs),
        artifact_link=_presigner(settings.runs_bucket),
    )


def _presigner(bucket: str) -> ArtifactLink:
    """Links to a run's output, valid for an hour (signed with this function's role, which
    may read the runs bucket; the caller needs no AWS identity)."""
    s3 = boto3.client("s3")

    def link(key: str) -> str:
        return s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": key},
            ExpiresIn=OUTPUT_LINK_SECONDS,
        )

    return link


@cache
def _idempotent() -> tuple[Submit, IdempotencyConfig]:
    settings = TasksSettings.from_environ()
    return idempotent_submit(_service, boto3.client("dynamodb"), settings.idempotency_table)


@app.post("/v1/tasks")
def submit_task() -> Response[str]:
    caller, request = current_caller(app), parse_body(app, SubmitTask)
    key = app.current_event.headers.get(HEADER)  # case-insensitive in Powertools v3
    if key is None:
        return json_response(202, _service().submit(caller, request).model_dump())
    submit, config = _idempotent()
    config.register_lambda_context(app.lambda_context)
    return json_response(202, submit(caller, request, key))


@app.get("/v1/tasks")
def list_tasks() -> Response[str]:
    query = TaskListQuery.model_validate(app.current_event.query_string_parameters or {})
    page = _service().list(current_caller(app), query)
    return json_response(200, TaskPage(data=page.items, next_cursor=page.next_cursor).model_dump())


@app.get("/v1/tasks/<task_id>")
def get_task(task_id: str) -> Response[str]:
    return json_response(200, _service().get(current_caller(app), task_id).model_dump())


@app.post("/v1/tasks/<task_id>/cancel")
def cancel_task(task_id: str) -> Response[str]:
    return json_response(200, _service().cancel(current_caller(app), task_id).model_dump())


@app.get("/v1/usage")
def usage() -> Response[str]:
    query = UsageQuery.model_validate(app.current_event.query_string_parameters or {})
    return json_response(200, _service().usage(current_caller(app), query).model_dump())


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

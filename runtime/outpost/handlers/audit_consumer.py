"""SQS consumer of the audit buffer: writes each entry to the audit table, once.

A malformed or unwritable message fails alone (partial batch response) and, after the
queue's retries, lands in the audit DLQ rather than being dropped.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from outpost.data.audit import AuditRepository
from outpost.models.audit import AuditEntry
from outpost.services.audit import AuditSettings
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def _repository() -> AuditRepository:
    return AuditSettings.from_environ().audit_repository(boto3.client("dynamodb"))


def store(record: SQSRecord, repository: AuditRepository | None = None) -> None:
    entry = AuditEntry.model_validate_json(record.body)
    if not (repository or _repository()).put(entry):
        logger.debug("audit entry already stored", extra={"sk_request_id": entry.request_id})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=store, processor=processor, context=context
    )

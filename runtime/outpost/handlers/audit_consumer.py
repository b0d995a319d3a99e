"""SQS consumer of the audit buffer: writes each entry to the audit table, once.

A malformed or unwritable message fails alone (partial batch response) and, after the
queue's retries, lands in the audit DLQ rather than being dropped.
"""

from __future__ import annotations

from datetime import timedelta
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
from pydantic import Field

from outpost.data.audit import AuditRepository
from outpost.data.tables import AUDIT
from outpost.models.audit import AuditEntry
from outpost.settings import RuntimeSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")
processor = BatchProcessor(event_type=EventType.SQS)


class AuditConsumerSettings(RuntimeSettings):
    audit_table: str = Field(alias=AUDIT.env_var)
    retention_days: int = Field(alias="OUTPOST_AUDIT_RETENTION_DAYS", ge=1)


@cache
def _repository() -> AuditRepository:
    settings = AuditConsumerSettings.from_environ()
    return AuditRepository(
        boto3.client("dynamodb"), settings.audit_table, timedelta(days=settings.retention_days)
    )


def store(record: SQSRecord, repository: AuditRepository | None = None) -> None:
    entry = AuditEntry.model_validate_json(record.body)
    if not (repository or _repository()).put(entry):
        logger.debug("audit entry already stored", extra={"sk_request_id": entry.request_id})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=store, processor=processor, context=context
    )

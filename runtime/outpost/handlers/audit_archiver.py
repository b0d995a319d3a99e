"""DynamoDB stream consumer of the audit table: copies each new entry to the archive bucket,
where object lock keeps it beyond the table's TTL.

Keys are ``audit/<tenant_id>/<YYYY>/<MM>/<DD>/<sort key>.json``: deterministic, so a retried
batch writes the same object again rather than a duplicate.
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
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from pydantic import Field

from outpost.data.audit import entry_sort_key
from outpost.data.buckets import AUDIT_ARCHIVE
from outpost.models.audit import AuditEntry
from outpost.settings import RuntimeSettings
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client

logger = Logger(service="outpost")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


class ArchiverSettings(RuntimeSettings):
    bucket: str = Field(alias=AUDIT_ARCHIVE.env_var)


def archive_key(entry: AuditEntry) -> str:
    return f"audit/{entry.tenant_id}/{entry.timestamp:%Y/%m/%d}/{entry_sort_key(entry)}.json"


def archive(record: DynamoDBRecord, s3: S3Client, bucket: str) -> None:
    if record.event_name is not DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return  # only new entries; TTL expiry deletes are what the archive outlives
    image = record.dynamodb.new_image
    entry = AuditEntry.model_validate(
        {k: v for k, v in image.items() if k in AuditEntry.model_fields}
    )
    s3.put_object(
        Bucket=bucket,
        Key=archive_key(entry),
        Body=entry.model_dump_json().encode(),
        ContentType="application/json",
    )


@cache
def _target() -> tuple[S3Client, str]:
    return boto3.client("s3"), ArchiverSettings.from_environ().bucket


def _archive(record: DynamoDBRecord) -> None:
    archive(record, *_target())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=_archive, processor=processor, context=context
    )

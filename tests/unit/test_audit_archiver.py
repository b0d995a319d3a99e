"""The audit archiver copies new entries to S3 under deterministic keys, and nothing else."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from outpost.data.audit import entry_sort_key
from outpost.data.items import to_item
from outpost.handlers.audit_archiver import archive, archive_key
from outpost.models import AuditEntry
from tests.unit.conftest import Store

ENTRY = AuditEntry(
    tenant_id=uuid4(),
    timestamp=datetime(2026, 11, 23, 12, 30, tzinfo=UTC),
    action="api_key.revoked",
    resource="api-keys/key_1",
    request_id="req-9",
    details={"attempt": 2, "ok": True},
)


def stream_record(event_name: str) -> DynamoDBRecord:
    image = to_item(ENTRY, sk=entry_sort_key(ENTRY), expires_at=1_800_000_000)
    return DynamoDBRecord({"eventName": event_name, "dynamodb": {"NewImage": image}})


@pytest.fixture
def bucket(store: Store) -> str:
    boto3.client("s3").create_bucket(Bucket="archive")
    return "archive"


def test_inserted_entries_are_archived_under_their_tenant_and_day(bucket: str) -> None:
    s3 = boto3.client("s3")
    archive(stream_record("INSERT"), s3, bucket)
    archive(stream_record("INSERT"), s3, bucket)  # a retried batch rewrites the same object
    (listed,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert listed["Key"] == archive_key(ENTRY)
    assert listed["Key"].startswith(f"audit/{ENTRY.tenant_id}/2026/11/23/")
    body = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read()
    assert AuditEntry.model_validate(json.loads(body)) == ENTRY


@pytest.mark.parametrize("event_name", ["REMOVE", "MODIFY"])
def test_ttl_expiry_and_other_events_are_not_archived(bucket: str, event_name: str) -> None:
    s3 = boto3.client("s3")
    archive(stream_record(event_name), s3, bucket)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0

"""The audit trail: idempotent puts, time-ranged tenant queries, and a service that never
fails the request it describes."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import EndpointConnectionError

from outpost.data.audit import AuditRepository
from outpost.data.pagination import InvalidCursor
from outpost.handlers.audit_consumer import store as consume
from outpost.models import AuditEntry
from outpost.services.audit import AuditService, SqsAuditBuffer
from tests.unit.conftest import Store

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=90)


def entry(
    tenant_id: Any, at: datetime, action: str = "task_submitted", request: str = "r1"
) -> AuditEntry:
    return AuditEntry(
        tenant_id=tenant_id, timestamp=at, action=action, resource="tsk_x", request_id=request
    )


@pytest.fixture
def audit(store: Store) -> AuditRepository:
    return AuditRepository(store.client, store.audit, RETENTION)


def test_put_is_idempotent_and_sets_expiry(audit: AuditRepository, store: Store) -> None:
    record = entry(uuid4(), T0)
    assert audit.put(record)
    assert not audit.put(record)
    (item,) = store.client.scan(TableName=store.audit)["Items"]
    assert int(item["expires_at"]["N"]) == int((T0 + RETENTION).timestamp())


def test_two_actions_of_one_request_are_both_kept(audit: AuditRepository) -> None:
    tenant = uuid4()
    audit.put(entry(tenant, T0, "auth.allowed"))
    audit.put(entry(tenant, T0, "task_submitted"))
    assert len(audit.query(tenant).items) == 2


def test_query_is_per_tenant_newest_first_ranged_and_paginated(audit: AuditRepository) -> None:
    tenant, other = uuid4(), uuid4()
    for minute in range(6):
        audit.put(entry(tenant, T0 + timedelta(minutes=minute), request=f"r{minute}"))
    audit.put(entry(other, T0))
    everything = audit.query(tenant)
    assert [e.request_id for e in everything.items] == ["r5", "r4", "r3", "r2", "r1", "r0"]
    ranged = audit.query(tenant, since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert [e.request_id for e in ranged.items] == ["r3", "r2", "r1"]
    first = audit.query(tenant, limit=4)
    second = audit.query(tenant, limit=4, cursor=first.next_cursor)
    assert [e.request_id for e in first.items + second.items] == [f"r{m}" for m in range(5, -1, -1)]
    with pytest.raises(InvalidCursor):
        audit.query(other, cursor=first.next_cursor)


def test_service_prefers_the_buffer(store: Store, audit: AuditRepository) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="audit")["QueueUrl"]
    service = AuditService([SqsAuditBuffer(sqs, queue_url).send, audit.put])
    record = entry(uuid4(), T0)
    assert service.record(record)
    (message,) = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert AuditEntry.model_validate_json(message["Body"]) == record
    assert audit.query(record.tenant_id).items == []  # the consumer writes it, not the service


def unreachable(_: AuditEntry) -> None:
    raise EndpointConnectionError(endpoint_url="https://sqs.internal")


def test_service_falls_back_to_the_table(audit: AuditRepository) -> None:
    record = entry(uuid4(), T0)
    assert AuditService([unreachable, audit.put]).record(record)
    assert audit.query(record.tenant_id).items == [record]


def test_service_never_raises_and_logs_what_it_could_not_store(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = entry(uuid4(), T0, request="lost-request")
    with caplog.at_level(logging.WARNING, logger="outpost"):
        assert not AuditService([unreachable, unreachable]).record(record)
    (last_resort,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert AuditEntry.model_validate(last_resort.__dict__["audit_entry"]) == record


def test_consumer_stores_each_entry_once(audit: AuditRepository) -> None:
    record = entry(uuid4(), T0)
    message = SQSRecord({"messageId": "m1", "body": record.model_dump_json(), "attributes": {}})
    consume(message, audit)
    consume(message, audit)  # SQS delivers at least once
    assert audit.query(record.tenant_id).items == [record]


def test_consumer_refuses_malformed_messages(audit: AuditRepository) -> None:
    with pytest.raises(ValueError, match="validation error"):
        consume(SQSRecord({"messageId": "m2", "body": "{}", "attributes": {}}), audit)

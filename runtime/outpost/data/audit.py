"""The audit table: entries are only ever put, never updated or deleted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from outpost.data.items import from_item, to_item
from outpost.data.pagination import Page, decode_cursor, encode_cursor
from outpost.data.tables import TTL_ATTRIBUTE
from outpost.models.audit import AuditEntry
from outpost.models.common import format_timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_PAGE_SIZE = 100


def entry_sort_key(entry: AuditEntry) -> str:
    return f"{format_timestamp(entry.timestamp)}#{entry.request_id}#{entry.action}"


class AuditRepository:
    def __init__(self, client: DynamoDBClient, table_name: str, retention: timedelta) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention

    def put(self, entry: AuditEntry) -> bool:
        """Store an entry once; False when it was already stored (a redelivered message)."""
        expires_at = int((entry.timestamp + self._retention).timestamp())
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(entry, sk=entry_sort_key(entry), **{TTL_ATTRIBUTE: expires_at}),
                ConditionExpression="attribute_not_exists(sk)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def query(
        self,
        tenant_id: UUID,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[AuditEntry]:
        """A tenant's entries, newest first, optionally within [since, until]."""
        lower = format_timestamp(since) if since else "0"
        upper = format_timestamp(until) + "~" if until else "~"  # "~" sorts after any "#…"
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "tenant_id = :tenant AND sk BETWEEN :lower AND :upper",
            "ExpressionAttributeValues": {
                ":tenant": {"S": str(tenant_id)},
                ":lower": {"S": lower},
                ":upper": {"S": upper},
            },
            "ScanIndexForward": False,
            "Limit": max(1, min(limit, MAX_PAGE_SIZE)),
        }
        if cursor is not None:
            request["ExclusiveStartKey"] = decode_cursor(
                cursor, partition=("tenant_id", str(tenant_id))
            )
        response = self._client.query(**request)  # type: ignore[arg-type]
        return Page(
            items=[from_item(AuditEntry, item) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def month(self, tenant_id: UUID, period: str) -> list[AuditEntry]:
        """Every entry of a tenant in one month (``YYYY-MM``), oldest first."""
        entries: list[AuditEntry] = []
        for page in self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="tenant_id = :tenant AND begins_with(sk, :period)",
            ExpressionAttributeValues={
                ":tenant": {"S": str(tenant_id)},
                ":period": {"S": period},
            },
        ):
            entries.extend(from_item(AuditEntry, item) for item in page["Items"])
        return entries

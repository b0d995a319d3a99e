"""Metered usage events, per tenant and environment."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from uuid import UUID

from outpost.data.items import from_item, to_item
from outpost.models.common import Environment, format_timestamp
from outpost.models.usage import MonthlyUsage, UsageKind, UsageRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def month_sort_key(environment: Environment, period: str) -> str:
    return f"{environment.value}#month#{period}"


def event_sort_key(record: UsageRecord) -> str:
    # A random suffix keeps two events of the same microsecond from overwriting each other.
    return (
        f"{record.environment.value}#event#{format_timestamp(record.occurred_at)}"
        f"#{secrets.token_hex(4)}"
    )


class UsageRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def record(self, record: UsageRecord) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_item(record, sk=event_sort_key(record)),
        )

    def record_item(self, record: UsageRecord) -> TransactWriteItemTypeDef:
        """The write that records an event, for a caller's transaction."""
        return {
            "Put": {"TableName": self._table, "Item": to_item(record, sk=event_sort_key(record))}
        }

    def recent_runs(
        self, tenant_id: UUID, environment: Environment, count: int
    ) -> list[UsageRecord]:
        """The tenant's latest completed-run events of one environment, newest first."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="tenant_id = :tenant AND begins_with(sk, :prefix)",
            FilterExpression="kind = :run",
            ExpressionAttributeValues={
                ":tenant": {"S": str(tenant_id)},
                ":prefix": {"S": f"{environment.value}#event#"},
                ":run": {"S": UsageKind.RUN.value},
            },
            ScanIndexForward=False,
            Limit=200,
        )
        return [from_item(UsageRecord, item) for item in response["Items"]][:count]

    def events(self, tenant_id: UUID, environment: Environment, period: str) -> list[UsageRecord]:
        """A tenant's events of one environment in one month (``YYYY-MM``), oldest first."""
        prefix = f"{environment.value}#event#{period}"
        records: list[UsageRecord] = []
        for page in self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="tenant_id = :tenant AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":tenant": {"S": str(tenant_id)},
                ":prefix": {"S": prefix},
            },
        ):
            records.extend(from_item(UsageRecord, item) for item in page["Items"])
        return records

    def save_month(self, month: MonthlyUsage) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_item(month, sk=month_sort_key(month.environment, month.period)),
        )

    def month(self, tenant_id: UUID, environment: Environment, period: str) -> MonthlyUsage | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={
                "tenant_id": {"S": str(tenant_id)},
                "sk": {"S": month_sort_key(environment, period)},
            },
        ).get("Item")
        return from_item(MonthlyUsage, item) if item else None

"""API key records, addressed by the SHA-256 of the key (the key itself is never stored)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from outpost.data.items import from_item, to_attribute, to_item
from outpost.data.tables import API_KEYS
from outpost.models.api_key import ApiKey
from outpost.models.common import format_timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class ApiKeyRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, key: ApiKey) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=to_item(key),
            ConditionExpression="attribute_not_exists(key_hash)",
        )

    def get(self, key_hash: str) -> ApiKey | None:
        response = self._client.get_item(
            TableName=self._table, Key={"key_hash": {"S": key_hash}}, ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(ApiKey, item) if item else None

    def list_for_tenant(self, tenant_id: UUID) -> list[ApiKey]:
        """A tenant's keys, oldest first (a tenant holds few keys: no pagination needed)."""
        keys: list[ApiKey] = []
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            IndexName=API_KEYS.indexes[0].name,
            KeyConditionExpression="tenant_id = :tenant",
            ExpressionAttributeValues={":tenant": {"S": str(tenant_id)}},
        ):
            keys.extend(from_item(ApiKey, item) for item in page["Items"])
        return keys

    def revoke(self, tenant_id: UUID, key_id: str, at: datetime) -> ApiKey | None:
        """Revoke one of a tenant's keys; None when the tenant has no such key.

        Revocation is permanent: revoking twice keeps the first time.
        """
        key = next((k for k in self.list_for_tenant(tenant_id) if k.key_id == key_id), None)
        if key is None or key.revoked:
            return key
        response = self._client.update_item(
            TableName=self._table,
            Key={"key_hash": {"S": key.key_hash}},
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at)",
            ConditionExpression="tenant_id = :tenant",
            ExpressionAttributeValues={
                ":at": to_attribute(format_timestamp(at)),
                ":tenant": {"S": str(tenant_id)},
            },
            ReturnValues="ALL_NEW",
        )
        return from_item(ApiKey, response["Attributes"])

    def touch(self, key_hash: str, at: datetime) -> None:
        """Record use; only moves last_used_at forward, and never recreates a deleted key."""
        # Failing the condition means a later use is already recorded, or the key is gone.
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key={"key_hash": {"S": key_hash}},
                UpdateExpression="SET last_used_at = :at",
                ConditionExpression=(
                    "attribute_exists(key_hash) AND "
                    "(attribute_not_exists(last_used_at) OR last_used_at < :at)"
                ),
                ExpressionAttributeValues={":at": to_attribute(format_timestamp(at))},
            )

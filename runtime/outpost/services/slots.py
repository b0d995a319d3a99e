"""Concurrency slots: how many of a tenant's runs execute at once, enforced where work starts.

One item per tenant holds a map of run id to lease expiry. Taking a slot is one conditional
update (fewer holders than the tier's limit, or this run holds one already); a lease that
expired — its worker died — is removed, with a condition on that very expiry, before trying
again, so a crashed worker cannot hold a slot for longer than its lease.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from outpost.models.common import utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

SLOTS_SORT_KEY = "slots"
ATTEMPTS = 3


class ConcurrencySlots:
    def __init__(
        self,
        client: DynamoDBClient,
        usage_table: str,
        lease: timedelta,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._table = usage_table
        self._lease = lease
        self._now = now

    def _key(self, tenant_id: UUID) -> dict[str, AttributeValueTypeDef]:
        return {"tenant_id": {"S": str(tenant_id)}, "sk": {"S": SLOTS_SORT_KEY}}

    def _expiry(self) -> AttributeValueTypeDef:
        return {"N": str(int((self._now() + self._lease).timestamp()))}

    def holders(self, tenant_id: UUID) -> dict[str, int]:
        """Run id to lease expiry (epoch seconds), expired leases included."""
        item = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id), ConsistentRead=True
        ).get("Item")
        holders = item.get("holders", {}).get("M", {}) if item else {}
        return {run: int(expiry["N"]) for run, expiry in holders.items()}

    def in_use(self, tenant_id: UUID) -> int:
        now = self._now().timestamp()
        return sum(1 for expiry in self.holders(tenant_id).values() if expiry > now)

    def acquire(self, tenant_id: UUID, run_id: str, limit: int) -> bool:
        """Take a slot for the run (or renew the one it holds); False when all are taken."""
        for _ in range(ATTEMPTS):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id),
                    UpdateExpression="SET holders.#run = :expiry",
                    ConditionExpression=(
                        "attribute_exists(holders) AND "
                        "(size(holders) < :limit OR attribute_exists(holders.#run))"
                    ),
                    ExpressionAttributeNames={"#run": run_id},
                    ExpressionAttributeValues={
                        ":expiry": self._expiry(),
                        ":limit": {"N": str(limit)},
                    },
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                if not self._make_room(tenant_id):
                    return False
            else:
                return True
        return False

    def _make_room(self, tenant_id: UUID) -> bool:
        """Create the slot map if missing, or remove expired leases; True if anything changed."""
        item = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id), ConsistentRead=True
        ).get("Item")
        if item is None or "holders" not in item:
            with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id),
                    UpdateExpression="SET holders = :empty",
                    ConditionExpression="attribute_not_exists(holders)",
                    ExpressionAttributeValues={":empty": {"M": {}}},
                )
            return True
        return self.reclaim_expired(tenant_id) > 0

    def reclaim_expired(self, tenant_id: UUID) -> int:
        """Remove leases that expired (their workers died); how many were removed."""
        now = self._now().timestamp()
        removed = 0
        for run_id, expiry in self.holders(tenant_id).items():
            if expiry <= now:
                with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
                    self._client.update_item(
                        TableName=self._table,
                        Key=self._key(tenant_id),
                        UpdateExpression="REMOVE holders.#run",
                        ConditionExpression="holders.#run = :expiry",
                        ExpressionAttributeNames={"#run": run_id},
                        ExpressionAttributeValues={":expiry": {"N": str(expiry)}},
                    )
                    removed += 1
        return removed

    def renew(self, tenant_id: UUID, run_id: str) -> bool:
        """Extend the run's lease (the heartbeat); False if it no longer holds a slot."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(tenant_id),
                UpdateExpression="SET holders.#run = :expiry",
                ConditionExpression="attribute_exists(holders.#run)",
                ExpressionAttributeNames={"#run": run_id},
                ExpressionAttributeValues={":expiry": self._expiry()},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, tenant_id: UUID, run_id: str) -> None:
        """Give the slot back; releasing a slot not held does nothing."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key=self._key(tenant_id),
                UpdateExpression="REMOVE holders.#run",
                ConditionExpression="attribute_exists(holders)",
                ExpressionAttributeNames={"#run": run_id},
            )

"""The daily submission quota: counted exactly in DynamoDB by one conditional write.

The unit is taken inside the same transaction that writes the task, so a refused submission
takes nothing and an accepted one is never counted twice. DynamoDB evaluates the condition
and the increment atomically per item, so concurrent submissions cannot overshoot the limit.
The counter is shared by all of a tenant's keys of one environment (live and test count
separately) and resets at UTC midnight: each UTC day has its own counter item.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from outpost.data.tables import TTL_ATTRIBUTE
from outpost.models.common import Environment
from outpost.models.tier import TierLimits

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

# Daily counters are kept this long (usage events, not counters, are the billing record).
COUNTER_RETENTION = timedelta(days=90)


def day_sort_key(environment: Environment, day: date) -> str:
    return f"{environment.value}#day#{day.isoformat()}"


def seconds_until_reset(now: datetime) -> int:
    """Seconds to the next UTC midnight, rounded up: the Retry-After of a quota refusal."""
    midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)
    return max(1, int((midnight - now).total_seconds() + 0.999))


class DailyQuota:
    def __init__(self, usage_table: str) -> None:
        self._table = usage_table

    def take(
        self, tenant_id: UUID, environment: Environment, limits: TierLimits, now: datetime
    ) -> TransactWriteItemTypeDef:
        """The transaction write that takes one unit of today's quota (or only counts, for
        an unlimited tier). Its condition failing means the quota is used up."""
        expires_at = int((now + COUNTER_RETENTION).timestamp())
        values: dict[str, AttributeValueTypeDef] = {
            ":one": {"N": "1"},
            ":expires": {"N": str(expires_at)},
        }
        update: UpdateTypeDef = {
            "TableName": self._table,
            "Key": {
                "tenant_id": {"S": str(tenant_id)},
                "sk": {"S": day_sort_key(environment, now.date())},
            },
            "UpdateExpression": "ADD #count :one SET #expires = if_not_exists(#expires, :expires)",
            "ExpressionAttributeNames": {"#count": "count", "#expires": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": values,
        }
        if limits.daily_requests is not None:
            update["ConditionExpression"] = "attribute_not_exists(#count) OR #count < :limit"
            values[":limit"] = {"N": str(limits.daily_requests)}
        return {"Update": update}

    def used(
        self, client: DynamoDBClient, tenant_id: UUID, environment: Environment, day: date
    ) -> int:
        item = client.get_item(
            TableName=self._table,
            Key={"tenant_id": {"S": str(tenant_id)}, "sk": {"S": day_sort_key(environment, day)}},
            ConsistentRead=True,
        ).get("Item")
        return int(item["count"]["N"]) if item else 0

"""Tasks and their runs, stored side by side in one partition per task."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from outpost.data.items import from_item, to_attribute, to_item
from outpost.data.pagination import Page, decode_cursor, encode_cursor
from outpost.data.tables import TASKS
from outpost.models.common import Environment, format_timestamp
from outpost.models.task import ERROR_MAX_CHARS, Run, Task, TaskStatus, aggregate_status
from outpost.models.tier import Agent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
    )

TASK_SK = "task"
RUN_SK_PREFIX = "run#"
PENDING = "pending"
LEASED = "leased"
# What a run's end records; those it leaves None are removed.
FINAL_FIELDS = {
    "status",
    "completed_at",
    "exit_code",
    "changes",
    "branch",
    "output_prefix",
    "error",
}
MAX_PAGE_SIZE = 100
AGENT_ORDER = list(Agent)


def tenant_scope(tenant_id: UUID, environment: Environment) -> str:
    return f"{tenant_id}#{environment.value}"


class TaskRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create_items(self, task: Task) -> list[TransactWriteItemTypeDef]:
        """The writes that create a task and its runs, for a caller's transaction."""
        task_item = to_item(
            task.model_copy(update={"runs": ()}),
            sk=TASK_SK,
            tenant_scope=tenant_scope(task.tenant_id, task.environment),
        )
        items: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": task_item,
                    "ConditionExpression": "attribute_not_exists(task_id)",
                }
            }
        ]
        queued_at = format_timestamp(task.created_at)
        items.extend(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        run, sk=RUN_SK_PREFIX + run.run_id, pending=PENDING, queued_at=queued_at
                    ),
                }
            }
            for run in task.runs
        )
        return items

    def create(self, task: Task, also: Sequence[TransactWriteItemTypeDef] = ()) -> None:
        """Write a task with its runs, and ``also`` any other writes, all or nothing."""
        self._client.transact_write_items(TransactItems=[*self.create_items(task), *also])

    def get(self, tenant_id: UUID, task_id: str) -> Task | None:
        """A tenant's task with its runs; another tenant's task is as absent as a missing one."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="task_id = :task",
            ExpressionAttributeValues={":task": {"S": task_id}},
            ConsistentRead=True,
        )
        task_item = None
        runs: list[Run] = []
        for item in response["Items"]:
            if item["sk"]["S"] == TASK_SK:
                task_item = item
            else:
                runs.append(from_item(Run, item))
        if task_item is None or task_item["tenant_id"]["S"] != str(tenant_id):
            return None
        runs.sort(key=lambda run: AGENT_ORDER.index(run.executor))
        return from_item(Task, task_item).model_copy(update={"runs": tuple(runs)})

    def mark_dispatched(self, task_id: str, run_id: str) -> None:
        """The run's message is on its queue: it leaves the undispatched index."""
        self._client.update_item(
            TableName=self._table,
            Key={"task_id": {"S": task_id}, "sk": {"S": RUN_SK_PREFIX + run_id}},
            UpdateExpression="REMOVE pending, queued_at",
        )

    def undispatched(self, queued_before: datetime, limit: int = 100) -> list[Run]:
        """Runs still without a queue message that were queued before the given time."""
        response = self._client.query(
            TableName=self._table,
            IndexName=TASKS.indexes[1].name,
            KeyConditionExpression="pending = :pending AND queued_at < :before",
            ExpressionAttributeValues={
                ":pending": {"S": PENDING},
                ":before": {"S": format_timestamp(queued_before)},
            },
            Limit=limit,
        )
        return [from_item(Run, item) for item in response["Items"]]

    def request_cancel(self, task_id: str, at: datetime) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"task_id": {"S": task_id}, "sk": {"S": TASK_SK}},
            UpdateExpression="SET cancel_requested = :yes, updated_at = :at",
            ExpressionAttributeValues={":yes": {"BOOL": True}, ":at": {"S": format_timestamp(at)}},
        )

    def cancel_queued_run(self, task_id: str, run_id: str, at: datetime) -> bool:
        """Cancel a run no worker has claimed; False if one has (it then honours the request)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"task_id": {"S": task_id}, "sk": {"S": RUN_SK_PREFIX + run_id}},
                UpdateExpression="SET #status = :cancelled, completed_at = :at",
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": {"S": TaskStatus.CANCELLED.value},
                    ":queued": {"S": TaskStatus.QUEUED.value},
                    ":at": {"S": format_timestamp(at)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def set_status(self, task_id: str, status: TaskStatus, at: datetime) -> None:
        """Record the task's aggregate status (and when it started or ended, if it did)."""
        values: dict[str, AttributeValueTypeDef] = {
            ":status": {"S": status.value},
            ":at": {"S": format_timestamp(at)},
        }
        expression = "SET #status = :status, updated_at = :at"
        if status is not TaskStatus.QUEUED:
            expression += ", started_at = if_not_exists(started_at, :at)"
        if status.is_final:
            expression += ", completed_at = if_not_exists(completed_at, :at)"
        self._client.update_item(
            TableName=self._table,
            Key={"task_id": {"S": task_id}, "sk": {"S": TASK_SK}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def refresh_status(self, task_id: str, tenant_id: UUID, at: datetime) -> Task | None:
        """Derive the task's status from its runs' and record it; the task as it now stands.
        Each run's writer calls this after its own write, so the last one sees every run."""
        task = self.get(tenant_id, task_id)
        if task is None:
            return None
        status = aggregate_status([run.status for run in task.runs])
        if status is not task.status:
            self.set_status(task_id, status, at)
            task = self.get(tenant_id, task_id)
        return task

    def get_run(self, task_id: str, run_id: str) -> Run | None:
        item = self._client.get_item(
            TableName=self._table,
            Key=self._run_key(task_id, run_id),
            ConsistentRead=True,
        ).get("Item")
        return from_item(Run, item) if item else None

    def cancel_requested(self, task_id: str) -> bool:
        item = self._client.get_item(
            TableName=self._table,
            Key={"task_id": {"S": task_id}, "sk": {"S": TASK_SK}},
            ProjectionExpression="cancel_requested",
            ConsistentRead=True,
        ).get("Item", {})
        return bool(item.get("cancel_requested", {}).get("BOOL", False))

    def claim_run(
        self, task_id: str, run_id: str, owner: str, lease_until: datetime, now: datetime
    ) -> Run | None:
        """Take the run for ``owner`` and count the attempt: a queued run, or one whose lease
        expired (its worker died). None when it is leased elsewhere, finished or cancelled."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._run_key(task_id, run_id),
                UpdateExpression=(
                    "SET #status = :processing, lease_owner = :owner, lease_expires_at = :lease, "
                    "leased = :leased, attempts = if_not_exists(attempts, :zero) + :one, "
                    "started_at = if_not_exists(started_at, :now)"
                ),
                ConditionExpression=(
                    "#status = :queued OR (#status = :processing AND lease_expires_at < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":processing": {"S": TaskStatus.PROCESSING.value},
                    ":queued": {"S": TaskStatus.QUEUED.value},
                    ":owner": {"S": owner},
                    ":lease": {"S": format_timestamp(lease_until)},
                    ":leased": {"S": LEASED},
                    ":now": {"S": format_timestamp(now)},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return from_item(Run, response["Attributes"])

    def renew_lease(self, task_id: str, run_id: str, owner: str, lease_until: datetime) -> bool:
        """The heartbeat; False when the run is no longer this owner's."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._run_key(task_id, run_id),
                UpdateExpression="SET lease_expires_at = :lease",
                ConditionExpression="lease_owner = :owner AND #status = :processing",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":lease": {"S": format_timestamp(lease_until)},
                    ":processing": {"S": TaskStatus.PROCESSING.value},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def hand_back_run(
        self, task_id: str, run_id: str, owner: str, *, counted: bool, error: str | None = None
    ) -> bool:
        """Put a claimed run back in the queue's hands. ``counted`` False (waiting for a slot,
        a worker told to stop) takes back the attempt the claim counted."""
        values: dict[str, AttributeValueTypeDef] = {
            ":queued": {"S": TaskStatus.QUEUED.value},
            ":owner": {"S": owner},
        }
        expression = "SET #status = :queued"
        if not counted:
            expression += ", attempts = attempts - :one"
            values[":one"] = {"N": "1"}
        if error is not None:
            expression += ", #error = :error"
            values[":error"] = {"S": error[:ERROR_MAX_CHARS]}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._run_key(task_id, run_id),
                UpdateExpression=expression + " REMOVE lease_owner, lease_expires_at, leased",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeNames={
                    "#status": "status",
                    **({"#error": "error"} if error is not None else {}),
                },
                ExpressionAttributeValues=values,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish_run(self, run: Run, owner: str | None) -> bool:
        """Record a run's end (status, exit code, changes, artifacts, error). With an owner,
        only while that owner holds the lease; without (the dead-letter handler), only if the
        run has not ended already."""
        if not run.status.is_final:
            raise ValueError(f"a run ends completed, failed or cancelled, not {run.status}")
        recorded = run.model_dump(mode="json", include=FINAL_FIELDS)
        fields = {name: value for name, value in recorded.items() if value is not None}
        # A field left unset now (an earlier attempt's error, say) must not survive.
        cleared = sorted(name for name, value in recorded.items() if value is None)
        names = {f"#{name}": name for name in [*fields, *cleared]}
        values: dict[str, AttributeValueTypeDef] = {
            f":{name}": to_attribute(value) for name, value in fields.items()
        }
        values[":processing"] = {"S": TaskStatus.PROCESSING.value}
        if owner is None:
            condition = "#status IN (:queued, :processing)"
            values[":queued"] = {"S": TaskStatus.QUEUED.value}
        else:
            condition = "lease_owner = :owner AND #status = :processing"
            values[":owner"] = {"S": owner}
        names["#status"] = "status"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._run_key(run.task_id, run.run_id),
                UpdateExpression="SET "
                + ", ".join(f"#{name} = :{name}" for name in fields)
                + " REMOVE "
                + ", ".join(
                    ["lease_owner", "lease_expires_at", "leased", *(f"#{n}" for n in cleared)]
                ),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def expired_leases(self, expired_before: datetime, limit: int = 100) -> list[Run]:
        """Runs still marked processing whose lease ran out before the given time."""
        response = self._client.query(
            TableName=self._table,
            IndexName=TASKS.indexes[2].name,
            KeyConditionExpression="leased = :leased AND lease_expires_at < :before",
            ExpressionAttributeValues={
                ":leased": {"S": LEASED},
                ":before": {"S": format_timestamp(expired_before)},
            },
            Limit=limit,
        )
        return [from_item(Run, item) for item in response["Items"]]

    def release_expired_lease(self, run: Run) -> bool:
        """Queue again a run whose worker died: only if its lease is still the expired one
        seen (a worker that claimed it meanwhile wins). The attempt stays counted."""
        if run.lease_expires_at is None:
            return False
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._run_key(run.task_id, run.run_id),
                UpdateExpression=(
                    "SET #status = :queued REMOVE lease_owner, lease_expires_at, leased"
                ),
                ConditionExpression="#status = :processing AND lease_expires_at = :seen",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":queued": {"S": TaskStatus.QUEUED.value},
                    ":processing": {"S": TaskStatus.PROCESSING.value},
                    ":seen": {"S": format_timestamp(run.lease_expires_at)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _run_key(self, task_id: str, run_id: str) -> dict[str, AttributeValueTypeDef]:
        return {"task_id": {"S": task_id}, "sk": {"S": RUN_SK_PREFIX + run_id}}

    def list_for_tenant(
        self,
        tenant_id: UUID,
        environment: Environment,
        *,
        limit: int = 20,
        cursor: str | None = None,
        status: TaskStatus | None = None,
    ) -> Page[Task]:
        """A tenant's tasks of one environment, newest first, without their runs."""
        scope = tenant_scope(tenant_id, environment)
        values: dict[str, AttributeValueTypeDef] = {":scope": {"S": scope}}
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": TASKS.indexes[0].name,
            "KeyConditionExpression": "tenant_scope = :scope",
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": max(1, min(limit, MAX_PAGE_SIZE)),
        }
        if status is not None:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            values[":status"] = {"S": status.value}
        if cursor is not None:
            request["ExclusiveStartKey"] = decode_cursor(cursor, partition=("tenant_scope", scope))
        response = self._client.query(**request)
        return Page(
            items=[from_item(Task, item) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

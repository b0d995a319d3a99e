"""Tasks and their runs, stored side by side in one partition per task."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from outpost.data.items import from_item, to_item
from outpost.data.pagination import Page, decode_cursor, encode_cursor
from outpost.data.tables import TASKS
from outpost.models.common import Environment, format_timestamp
from outpost.models.task import Run, Task, TaskStatus
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
        """Record the task's aggregate status (and when it ended, if it did)."""
        values: dict[str, AttributeValueTypeDef] = {
            ":status": {"S": status.value},
            ":at": {"S": format_timestamp(at)},
        }
        expression = "SET #status = :status, updated_at = :at"
        if status.is_final:
            expression += ", completed_at = if_not_exists(completed_at, :at)"
        self._client.update_item(
            TableName=self._table,
            Key={"task_id": {"S": task_id}, "sk": {"S": TASK_SK}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

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

"""Tenant records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from outpost.data.items import from_item, to_item
from outpost.data.pagination import Page, decode_cursor, encode_cursor
from outpost.data.tables import TENANTS
from outpost.models.tenant import Tenant

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TenantExists(Exception):
    """A tenant with this id is already stored."""


class TenantNotFound(Exception):
    """No tenant with this id."""


class TenantRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, tenant: Tenant) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(tenant),
                ConditionExpression="attribute_not_exists(tenant_id)",
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            raise TenantExists(str(tenant.tenant_id)) from error

    def get(self, tenant_id: UUID) -> Tenant | None:
        response = self._client.get_item(
            TableName=self._table, Key={"tenant_id": {"S": str(tenant_id)}}, ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(Tenant, item) if item else None

    def find_by_email(self, email: str) -> list[Tenant]:
        """Tenants registered with this address (the index cannot enforce uniqueness)."""
        response = self._client.query(
            TableName=self._table,
            IndexName=TENANTS.indexes[0].name,
            KeyConditionExpression="email = :email",
            ExpressionAttributeValues={":email": {"S": email}},
        )
        return [from_item(Tenant, item) for item in response["Items"]]

    def all(self) -> Iterator[Tenant]:
        """Every tenant (a scan: for scheduled jobs, never for requests)."""
        for page in self._client.get_paginator("scan").paginate(TableName=self._table):
            for item in page["Items"]:
                yield from_item(Tenant, item)

    def page(self, limit: int, cursor: str | None = None) -> Page[Tenant]:
        """Tenants in no particular order, a page at a time (an admin's listing)."""
        request: dict[str, Any] = {"TableName": self._table, "Limit": limit}
        if cursor is not None:
            request["ExclusiveStartKey"] = decode_cursor(cursor, partition=None)
        response = self._client.scan(**request)
        return Page(
            items=[from_item(Tenant, item) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def find_by_customer(self, customer_id: str) -> Tenant | None:
        """The tenant a Stripe customer belongs to."""
        response = self._client.query(
            TableName=self._table,
            IndexName=TENANTS.indexes[1].name,
            KeyConditionExpression="stripe_customer_id = :customer",
            ExpressionAttributeValues={":customer": {"S": customer_id}},
        )
        found = [from_item(Tenant, item) for item in response["Items"]]
        return found[0] if found else None

    def link_customer(self, tenant_id: UUID, customer_id: str) -> Tenant:
        """Record the tenant's Stripe customer, once: a second, different one is refused."""
        response = self._client.update_item(
            TableName=self._table,
            Key={"tenant_id": {"S": str(tenant_id)}},
            UpdateExpression="SET stripe_customer_id = :customer",
            ConditionExpression=(
                "attribute_exists(tenant_id) AND (attribute_not_exists(stripe_customer_id) "
                "OR stripe_customer_id = :customer)"
            ),
            ExpressionAttributeValues={":customer": {"S": customer_id}},
            ReturnValues="ALL_NEW",
        )
        return from_item(Tenant, response["Attributes"])

    def replace(self, tenant: Tenant) -> None:
        """Store a changed tenant; it must exist already."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(tenant),
                ConditionExpression="attribute_exists(tenant_id)",
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            raise TenantNotFound(str(tenant.tenant_id)) from error

"""The one definition of each DynamoDB table.

The CDK construct (cdk_app/constructs/tenant_store.py), local mode's provisioner and the tests
all build their tables from these specs, so the cloud, the laptop and CI cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        CreateTableInputTypeDef,
        GlobalSecondaryIndexTypeDef,
        KeySchemaElementTypeDef,
    )


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: Literal["S", "N"] = "S"


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index, projecting all attributes (its readers need whole items)."""

    name: str
    partition: KeyAttribute
    sort: KeyAttribute | None = None


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    partition: KeyAttribute
    sort: KeyAttribute | None = None
    indexes: tuple[IndexSpec, ...] = ()
    ttl_attribute: str | None = None
    # A stream of new items, for consumers that copy them elsewhere (the audit archive).
    stream: bool = False

    def table_name(self, environment: str) -> str:
        return f"outpost-{self.logical_id.replace('_', '-')}-{environment}"

    @property
    def env_var(self) -> str:
        """The environment variable through which a function learns this table's name."""
        return f"OUTPOST_{self.logical_id.upper()}_TABLE"

    def create_table_input(self, table_name: str) -> CreateTableInputTypeDef:
        attributes: dict[str, KeyAttribute] = {}
        for key in (self.partition, self.sort, *self._index_keys()):
            if key is not None:
                attributes[key.name] = key
        request: CreateTableInputTypeDef = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": _key_schema(self.partition, self.sort),
            "AttributeDefinitions": [_attribute_definition(key) for key in attributes.values()],
        }
        if self.indexes:
            request["GlobalSecondaryIndexes"] = [_gsi(index) for index in self.indexes]
        if self.stream:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
        return request

    def _index_keys(self) -> list[KeyAttribute | None]:
        return [key for index in self.indexes for key in (index.partition, index.sort)]


def provision_table(client: DynamoDBClient, spec: TableSpec, table_name: str) -> None:
    """Create a table as the stack declares it (for local mode and tests)."""
    client.create_table(**spec.create_table_input(table_name))
    if spec.ttl_attribute:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
        )


def _key_schema(
    partition: KeyAttribute, sort: KeyAttribute | None
) -> list[KeySchemaElementTypeDef]:
    schema: list[KeySchemaElementTypeDef] = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def _attribute_definition(key: KeyAttribute) -> AttributeDefinitionTypeDef:
    return {"AttributeName": key.name, "AttributeType": key.type}


def _gsi(index: IndexSpec) -> GlobalSecondaryIndexTypeDef:
    return {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.partition, index.sort),
        "Projection": {"ProjectionType": "ALL"},
    }


TTL_ATTRIBUTE = "expires_at"

TENANTS = TableSpec(
    logical_id="tenants",
    partition=KeyAttribute("tenant_id"),
    indexes=(
        IndexSpec("by_email", KeyAttribute("email")),
        # Sparse: tenants with a Stripe customer, found from a webhook event's customer id.
        IndexSpec("by_stripe_customer", KeyAttribute("stripe_customer_id")),
    ),
)

API_KEYS = TableSpec(
    logical_id="api_keys",
    partition=KeyAttribute("key_hash"),
    indexes=(IndexSpec("by_tenant", KeyAttribute("tenant_id"), KeyAttribute("created_at")),),
)

# A task and its runs share a partition: sk "task" for the task, "run#<run_id>" for each run,
# so one Query reads a task whole while each run can be leased with its own conditional write.
# Only task items carry tenant_scope ("<tenant_id>#<environment>"), so the listing index holds
# tasks alone, and live and test tasks never mix in one tenant's listing. A run carries
# "pending" (and "queued_at") from its creation until its queue message is sent: the sparse
# "undispatched" index lists exactly the runs a crash left without a message. A run a worker
# has claimed carries "leased" until it ends: the sparse "leased" index, ordered by lease
# expiry, lists the runs whose worker died, so none stays "processing" forever.
TASKS = TableSpec(
    logical_id="tasks",
    partition=KeyAttribute("task_id"),
    sort=KeyAttribute("sk"),
    indexes=(
        IndexSpec("by_tenant", KeyAttribute("tenant_scope"), KeyAttribute("created_at")),
        IndexSpec("undispatched", KeyAttribute("pending"), KeyAttribute("queued_at")),
        IndexSpec("leased", KeyAttribute("leased"), KeyAttribute("lease_expires_at")),
    ),
    ttl_attribute=TTL_ATTRIBUTE,
)

# Per-tenant counters and events: sk "<environment>#day#YYYY-MM-DD" for the daily quota counter,
# "<environment>#event#<timestamp>#<id>" for metered events.
USAGE = TableSpec(
    logical_id="usage",
    partition=KeyAttribute("tenant_id"),
    sort=KeyAttribute("sk"),
    ttl_attribute=TTL_ATTRIBUTE,
)

# Append-only audit trail: sk "<timestamp>#<request_id>#<action>" orders a tenant's entries in
# time and keeps two entries of one request apart. Entries expire after the audit retention;
# the S3 archive keeps them for the long term.
AUDIT = TableSpec(
    logical_id="audit",
    partition=KeyAttribute("tenant_id"),
    sort=KeyAttribute("sk"),
    ttl_attribute=TTL_ATTRIBUTE,
    stream=True,
)

# Powertools idempotency records for Idempotency-Key (its default attribute names).
IDEMPOTENCY = TableSpec(
    logical_id="idempotency",
    partition=KeyAttribute("id"),
    ttl_attribute="expiration",
)

ALL_TABLES: tuple[TableSpec, ...] = (TENANTS, API_KEYS, TASKS, USAGE, AUDIT, IDEMPOTENCY)

"""Runtime tests run against moto in-process, with every table built from its shared spec."""

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws
from mypy_boto3_dynamodb import DynamoDBClient

from outpost.data.buckets import RUNS
from outpost.data.queues import AUDIT_BUFFER, TASK_QUEUES
from outpost.data.tables import ALL_TABLES, API_KEYS, AUDIT, TASKS, TENANTS, USAGE, provision_table
from outpost.data.tenants import TenantRepository
from outpost.handlers import tenants as tenants_handler
from outpost.models import Scope, Tenant, Tier
from outpost.services.rate_limits import TokenBuckets
from tests.unit.api import Api, clear_handler_caches, principal

ENVIRONMENT = "unit"


@dataclass(frozen=True)
class Store:
    client: DynamoDBClient
    tenants: str = TENANTS.table_name(ENVIRONMENT)
    api_keys: str = API_KEYS.table_name(ENVIRONMENT)
    tasks: str = TASKS.table_name(ENVIRONMENT)
    usage: str = USAGE.table_name(ENVIRONMENT)
    audit: str = AUDIT.table_name(ENVIRONMENT)


@pytest.fixture
def store() -> Iterator[Store]:
    with mock_aws():
        client = boto3.client("dynamodb")
        for spec in ALL_TABLES:
            provision_table(client, spec, spec.table_name(ENVIRONMENT))
        yield Store(client)


@pytest.fixture
def api(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """Every table and queue as the stack declares them, the handlers told where, an operator."""
    for spec in ALL_TABLES:
        monkeypatch.setenv(spec.env_var, spec.table_name(ENVIRONMENT))
    monkeypatch.setenv("OUTPOST_ENVIRONMENT", ENVIRONMENT)
    monkeypatch.setenv(RUNS.env_var, RUNS.local_name(ENVIRONMENT))
    sqs = boto3.client("sqs")
    queue_urls = {
        tier: sqs.create_queue(QueueName=spec.queue_name(ENVIRONMENT))["QueueUrl"]
        for tier, spec in TASK_QUEUES.items()
    }
    for tier, url in queue_urls.items():
        monkeypatch.setenv(TASK_QUEUES[tier].env_var, url)
    monkeypatch.delenv(AUDIT_BUFFER.env_var, raising=False)
    clear_handler_caches()
    operator = Tenant(name="Outpost operators", email="ops@outpost.example", tier=Tier.ENTERPRISE)
    TenantRepository(store.client, store.tenants).create(operator)
    client = Api(store, principal(operator.tenant_id, Scope.ADMIN), queue_urls)
    monkeypatch.setattr(
        tenants_handler,
        "flush_authorizer_cache",
        lambda api_id, stage: client.flushes.append((api_id, stage)),
    )
    monkeypatch.setattr(tenants_handler, "rate_plans", TokenBuckets())
    yield client
    clear_handler_caches()

"""Runtime tests run against moto in-process, with every table built from its shared spec."""

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws
from mypy_boto3_dynamodb import DynamoDBClient

from outpost.data.tables import ALL_TABLES, API_KEYS, AUDIT, TASKS, TENANTS, USAGE, provision_table

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

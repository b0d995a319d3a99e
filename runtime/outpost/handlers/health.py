"""GET /health: is the API up and can it read its tenant store?

It answers without authentication, so it says only ok/unavailable and logs the reason.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from outpost.data.tables import TENANTS
from outpost.settings import RuntimeSettings
from outpost.tracing import tracer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(service="outpost")

# A key no tenant can have (tenant ids are UUIDs): reading it exercises the read path cheaply.
PROBE_KEY = "health-probe"


class HealthSettings(RuntimeSettings):
    tenants_table: str = Field(alias=TENANTS.env_var)


def check(client: DynamoDBClient, tenants_table: str) -> bool:
    try:
        client.get_item(TableName=tenants_table, Key={"tenant_id": {"S": PROBE_KEY}})
    except (BotoCoreError, ClientError):
        logger.exception("tenant store unreachable", extra={"table": tenants_table})
        return False
    return True


@cache
def _settings() -> HealthSettings:
    return HealthSettings.from_environ()


@cache
def _client() -> DynamoDBClient:
    return boto3.client("dynamodb")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    healthy = check(_client(), _settings().tenants_table)
    return {
        "statusCode": 200 if healthy else 503,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps({"status": "ok" if healthy else "unavailable"}),
    }

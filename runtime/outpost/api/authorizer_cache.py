"""Flushing API Gateway's authorizer cache, so a revoked key stops working at once there.

The API and stage come from the request being served (its requestContext), which keeps the
function's configuration free of a reference back to the API that invokes it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

logger = Logger(service="outpost")

Flusher = Callable[[str, str], None]


@cache
def _client() -> APIGatewayClient:
    return boto3.client("apigateway")


def flush_stage_cache(api_id: str, stage: str) -> None:
    """Best effort: on failure the cached policy still expires after the cache TTL."""
    try:
        _client().flush_stage_authorizers_cache(restApiId=api_id, stageName=stage)
    except (BotoCoreError, ClientError):
        logger.exception("could not flush the authorizer cache", extra={"api_id": api_id})

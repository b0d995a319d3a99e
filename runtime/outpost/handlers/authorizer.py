"""API Gateway TOKEN authorizer.

Missing, malformed and unknown keys get 401 (the error "Unauthorized"); revoked keys and keys
of inactive tenants get an explicit Deny (403). An Allow covers every route of the stage,
because API Gateway caches one policy per token for all routes; admin scope is checked in the
handlers from the context. Every decision this function makes is audited, with the key's
display prefix at most.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from pydantic import Field

from outpost import metrics
from outpost.data.api_keys import ApiKeyRepository
from outpost.data.tables import API_KEYS, TENANTS
from outpost.data.tenants import TenantRepository
from outpost.models.audit import UNATTRIBUTED, AuditEntry, RequestMetadata
from outpost.services.audit import AuditService, AuditSettings
from outpost.services.auth import Authenticator, DecisionCache, Denial, DenyReason
from outpost.services.rate_limits import usage_key_value
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(service="outpost")

UNAUTHORIZED = frozenset({DenyReason.MISSING, DenyReason.MALFORMED, DenyReason.UNKNOWN})


class Unauthorized(Exception):
    """API Gateway answers 401 when a TOKEN authorizer fails with exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class AuthorizerSettings(AuditSettings):
    api_keys_table: str = Field(alias=API_KEYS.env_var)
    tenants_table: str = Field(alias=TENANTS.env_var)
    allow_cache_seconds: float = Field(alias="OUTPOST_AUTH_ALLOW_CACHE_SECONDS", default=30, ge=0)
    deny_cache_seconds: float = Field(alias="OUTPOST_AUTH_DENY_CACHE_SECONDS", default=60, ge=0)
    cache_entries: int = Field(alias="OUTPOST_AUTH_CACHE_ENTRIES", default=10_000, ge=1)


def build_authenticator(settings: AuthorizerSettings, dynamodb: DynamoDBClient) -> Authenticator:
    return Authenticator(
        ApiKeyRepository(dynamodb, settings.api_keys_table),
        TenantRepository(dynamodb, settings.tenants_table),
        DecisionCache(
            max_entries=settings.cache_entries,
            allow_seconds=settings.allow_cache_seconds,
            deny_seconds=settings.deny_cache_seconds,
        ),
    )


def authorize(
    event: APIGatewayAuthorizerTokenEvent,
    authenticator: Authenticator,
    audit: AuditService,
    request_id: str,
) -> dict[str, Any]:
    """The authorizer's answer to one event; raises Unauthorized for a 401."""
    decision = authenticator.authenticate(event.authorization_token)
    arn = event.parsed_arn
    audit.record(
        AuditEntry(
            tenant_id=decision.tenant_id or UNATTRIBUTED,
            action="auth.denied" if isinstance(decision, Denial) else "auth.allowed",
            resource=f"{arn.http_method} /{arn.resource}",
            request_id=request_id,
            metadata=RequestMetadata(key_prefix=decision.key_prefix),
            details={"reason": decision.reason.value} if isinstance(decision, Denial) else {},
        )
    )
    if isinstance(decision, Denial):
        logger.info(
            "authorization denied",
            extra={"reason": decision.reason.value, "key_prefix": decision.key_prefix},
        )
        metrics.emit(metrics.AUTH_DENIED, 1)
        metrics.emit(metrics.AUTH_DENIED, 1, reason=decision.reason.value)
        if decision.reason in UNAUTHORIZED:
            raise Unauthorized
    response = APIGatewayAuthorizerResponse(
        principal_id=decision.key_prefix or "anonymous",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=None if isinstance(decision, Denial) else decision.to_context(),
        # Names the tenant to its tier's usage plan: per-tenant rate limits.
        usage_identifier_key=(
            None if isinstance(decision, Denial) else usage_key_value(decision.tenant_id)
        ),
    )
    if isinstance(decision, Denial):
        response.deny_all_routes()
    else:
        response.allow_all_routes()
    return response.asdict()


@cache
def _dependencies() -> tuple[Authenticator, AuditService]:
    settings = AuthorizerSettings.from_environ()
    dynamodb = boto3.client("dynamodb")
    return build_authenticator(settings, dynamodb), settings.audit_service(
        dynamodb, boto3.client("sqs")
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    authenticator, audit = _dependencies()
    return authorize(
        APIGatewayAuthorizerTokenEvent(event), authenticator, audit, context.aws_request_id
    )

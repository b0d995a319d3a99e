"""Tenants and their API keys: /v1/tenants…"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

import boto3
import stripe
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import Field

from outpost.api import authorizer_cache
from outpost.api.http import current_caller, json_response, new_resolver, parse_body
from outpost.api.schemas import ApiKeyList, ApiKeyView, CreatedApiKey, TenantPage
from outpost.data.api_keys import ApiKeyRepository
from outpost.data.tables import API_KEYS, TENANTS
from outpost.data.tenants import TenantRepository
from outpost.errors import NotFound
from outpost.services.audit import AuditService, AuditSettings
from outpost.services.billing import BillingService, BillingSettings
from outpost.services.rate_limits import RatePlans, UsagePlans
from outpost.services.tenants import (
    CreateKey,
    CreateTenant,
    TenantListQuery,
    TenantService,
    UpdateTenant,
)
from outpost.settings import RuntimeSettings
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")
app = new_resolver()

# Local mode replaces these with its own gateway's cache flush and rate limiter.
flush_authorizer_cache: authorizer_cache.Flusher = authorizer_cache.flush_stage_cache
rate_plans: RatePlans | None = None


class TenantsSettings(AuditSettings):
    tenants_table: str = Field(alias=TENANTS.env_var)
    api_keys_table: str = Field(alias=API_KEYS.env_var)


class UsagePlanSettings(RuntimeSettings):
    environment: str = Field(alias="OUTPOST_ENVIRONMENT")


@cache
def _usage_plans() -> UsagePlans:
    return UsagePlans(boto3.client("apigateway"), UsagePlanSettings.from_environ().environment)


@cache
def _stores() -> tuple[TenantRepository, ApiKeyRepository, AuditService]:
    settings = TenantsSettings.from_environ()
    dynamodb = boto3.client("dynamodb")
    return (
        TenantRepository(dynamodb, settings.tenants_table),
        ApiKeyRepository(dynamodb, settings.api_keys_table),
        settings.audit_service(dynamodb, boto3.client("sqs")),
    )


def tenant_service(resolver: APIGatewayRestResolver) -> TenantService:
    """For the request ``resolver`` serves (its stage's authorizer cache is flushed)."""
    tenants, keys, audit = _stores()
    context = resolver.current_event.request_context
    api_id, stage = context.api_id, context.stage
    return TenantService(
        tenants,
        keys,
        audit,
        lambda: flush_authorizer_cache(api_id, stage),
        rate_plans or _usage_plans(),
    )


def _service() -> TenantService:
    return tenant_service(app)


@cache
def _billing_settings() -> BillingSettings:
    return BillingSettings.from_environ()


def billing(resolver: APIGatewayRestResolver) -> BillingService | None:
    """Billing, when configured; its tier changes go through the tenant service."""
    _, _, audit = _stores()
    return _billing_settings().billing_service(
        boto3.client("dynamodb"), audit, tenant_service(resolver).store_change
    )


def _tenant_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("no such tenant") from None


@app.post("/v1/tenants")
def create_tenant() -> Response[str]:
    caller = current_caller(app)
    tenant = _service().create(caller, parse_body(app, CreateTenant))
    service = billing(app)
    if service is not None:
        try:
            tenant = service.ensure_customer(tenant, caller.request_id)
        except stripe.StripeError:
            # Not fatal: the customer is made at the tenant's first checkout instead.
            logger.warning("Stripe customer not created", exc_info=True)
    return json_response(201, tenant.model_dump(mode="json"))


@app.get("/v1/tenants")
def list_tenants() -> Response[str]:
    query = TenantListQuery.model_validate(app.current_event.query_string_parameters or {})
    page = _service().list_tenants(current_caller(app), query)
    answer = TenantPage(data=page.items, next_cursor=page.next_cursor)
    return json_response(200, answer.model_dump(mode="json"))


@app.get("/v1/tenants/<tenant_id>")
def get_tenant(tenant_id: str) -> Response[str]:
    tenant = _service().get(current_caller(app), _tenant_id(tenant_id))
    return json_response(200, tenant.model_dump(mode="json"))


@app.patch("/v1/tenants/<tenant_id>")
def update_tenant(tenant_id: str) -> Response[str]:
    request = parse_body(app, UpdateTenant)
    tenant = _service().update(current_caller(app), _tenant_id(tenant_id), request)
    return json_response(200, tenant.model_dump(mode="json"))


@app.delete("/v1/tenants/<tenant_id>")
def delete_tenant(tenant_id: str) -> Response[str]:
    tenant = _service().delete(current_caller(app), _tenant_id(tenant_id))
    return json_response(200, tenant.model_dump(mode="json"))


@app.post("/v1/tenants/<tenant_id>/api-keys")
def create_key(tenant_id: str) -> Response[str]:
    request = parse_body(app, CreateKey)
    key, plaintext = _service().create_key(current_caller(app), _tenant_id(tenant_id), request)
    created = CreatedApiKey(**ApiKeyView.of(key).model_dump(), key=plaintext)
    return json_response(201, created.model_dump(mode="json"))


@app.get("/v1/tenants/<tenant_id>/api-keys")
def list_keys(tenant_id: str) -> Response[str]:
    keys = _service().list_keys(current_caller(app), _tenant_id(tenant_id))
    return json_response(200, ApiKeyList(data=[ApiKeyView.of(key) for key in keys]).model_dump())


@app.delete("/v1/tenants/<tenant_id>/api-keys/<key_id>")
def revoke_key(tenant_id: str, key_id: str) -> Response[str]:
    key = _service().revoke_key(current_caller(app), _tenant_id(tenant_id), key_id)
    return json_response(200, ApiKeyView.of(key).model_dump())


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

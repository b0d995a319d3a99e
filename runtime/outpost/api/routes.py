"""Every route of the API, once: the AuthApi construct builds API Gateway from this table, the
local gateway routes by it, and docs/api/openapi.yaml is generated from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from outpost.api.schemas import (
    ApiKeyList,
    ApiKeyView,
    AuditPage,
    CheckoutRequest,
    CreatedApiKey,
    HealthResponse,
    SecretList,
    SessionLink,
    SubmittedTask,
    TaskPage,
    TaskView,
    TenantPage,
    UsageView,
    WebhookAnswer,
)
from outpost.models.secret import SecretMetadata, StoreSecret
from outpost.models.tenant import Tenant
from outpost.services.audit import AuditQuery
from outpost.services.tasks import SubmitTask, TaskListQuery, UsageQuery
from outpost.services.tenants import CreateKey, CreateTenant, TenantListQuery, UpdateTenant


class RouteGroup(StrEnum):
    """One Lambda function serves each group."""

    HEALTH = "health"
    TENANTS = "tenants"
    AUDIT = "audit"
    TASKS = "tasks"
    SECRETS = "secrets"
    BILLING = "billing"

    @property
    def handler(self) -> str:
        return f"outpost.handlers.{self.value}.handler"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    group: RouteGroup
    summary: str
    response: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # Refusals this route can answer besides 401/403/429 (which every authorized route can).
    errors: tuple[int, ...] = ()
    # A route without the API-key authorizer says why it is public.
    public_because: str | None = None

    @property
    def authorized(self) -> bool:
        return self.public_because is None


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/health",
        RouteGroup.HEALTH,
        "Is the API up and its store reachable?",
        HealthResponse,
        public_because="the health check is public by design and answers ok or unavailable",
    ),
    Route(
        "POST",
        "/v1/tenants",
        RouteGroup.TENANTS,
        "Create a tenant (admin)",
        Tenant,
        201,
        body=CreateTenant,
        errors=(400, 409, 422),
    ),
    Route(
        "GET",
        "/v1/tenants",
        RouteGroup.TENANTS,
        "List tenants, a page at a time (admin)",
        TenantPage,
        query=TenantListQuery,
        errors=(400, 422),
    ),
    Route(
        "GET",
        "/v1/tenants/{tenant_id}",
        RouteGroup.TENANTS,
        "Get a tenant (admin, or the tenant itself)",
        Tenant,
        errors=(404,),
    ),
    Route(
        "PATCH",
        "/v1/tenants/{tenant_id}",
        RouteGroup.TENANTS,
        "Change a tenant's name, email, tier or status (admin)",
        Tenant,
        body=UpdateTenant,
        errors=(400, 404, 409, 422),
    ),
    Route(
        "DELETE",
        "/v1/tenants/{tenant_id}",
        RouteGroup.TENANTS,
        "Soft-delete a tenant; its keys stop working (admin)",
        Tenant,
        errors=(404,),
    ),
    Route(
        "POST",
        "/v1/tenants/{tenant_id}/api-keys",
        RouteGroup.TENANTS,
        "Create an API key; the full key is in this response only",
        CreatedApiKey,
        201,
        body=CreateKey,
        errors=(400, 404, 409, 422),
    ),
    Route(
        "GET",
        "/v1/tenants/{tenant_id}/api-keys",
        RouteGroup.TENANTS,
        "List a tenant's API keys (metadata only)",
        ApiKeyList,
        errors=(404,),
    ),
    Route(
        "DELETE",
        "/v1/tenants/{tenant_id}/api-keys/{key_id}",
        RouteGroup.TENANTS,
        "Revoke an API key, permanently",
        ApiKeyView,
        errors=(404,),
    ),
    Route(
        "POST",
        "/v1/tasks",
        RouteGroup.TASKS,
        "Submit a task: queued for the agent(s) named",
        SubmittedTask,
        202,
        body=SubmitTask,
        errors=(400, 422),
    ),
    Route(
        "GET",
        "/v1/tasks",
        RouteGroup.TASKS,
        "List this environment's tasks, newest first",
        TaskPage,
        query=TaskListQuery,
        errors=(400, 422),
    ),
    Route(
        "GET",
        "/v1/tasks/{task_id}",
        RouteGroup.TASKS,
        "Get a task with its runs",
        TaskView,
        errors=(404,),
    ),
    Route(
        "POST",
        "/v1/tasks/{task_id}/cancel",
        RouteGroup.TASKS,
        "Cancel a task: queued runs at once, running ones asked to stop",
        TaskView,
        errors=(404, 409),
    ),
    Route(
        "GET",
        "/v1/usage",
        RouteGroup.TASKS,
        "This month's usage, quota, today's count and concurrency; or a past month's totals",
        UsageView,
        query=UsageQuery,
        errors=(400, 422),
    ),
    Route(
        "GET",
        "/v1/secrets",
        RouteGroup.SECRETS,
        "List the provider keys stored: names, dates and masked hints, never values",
        SecretList,
    ),
    Route(
        "PUT",
        "/v1/secrets/{provider}",
        RouteGroup.SECRETS,
        "Store (or replace) a provider key: github, anthropic, openai, google, deepseek, xai",
        SecretMetadata,
        body=StoreSecret,
        errors=(400, 409, 422),
    ),
    Route(
        "DELETE",
        "/v1/secrets/{provider}",
        RouteGroup.SECRETS,
        "Remove a provider key",
        SecretMetadata,
        errors=(404, 409, 422),
    ),
    Route(
        "POST",
        "/v1/billing/checkout",
        RouteGroup.BILLING,
        "Start a Stripe Checkout for the pro or enterprise plan: the page to send the customer to",
        SessionLink,
        body=CheckoutRequest,
        errors=(400, 404, 409, 422),
    ),
    Route(
        "POST",
        "/v1/billing/portal",
        RouteGroup.BILLING,
        "Open Stripe's customer portal (change plan, payment method, invoices)",
        SessionLink,
        errors=(404,),
    ),
    Route(
        "POST",
        "/v1/billing/webhook",
        RouteGroup.BILLING,
        "Stripe's webhook: signed events (Stripe-Signature) that set tenants' tiers",
        WebhookAnswer,
        errors=(400,),
        public_because="Stripe calls it without an API key; every request must carry a valid "
        "Stripe-Signature over its body, checked before anything is read",
    ),
    Route(
        "GET",
        "/v1/audit",
        RouteGroup.AUDIT,
        "Read the audit trail, newest first (admins may name a tenant)",
        AuditPage,
        query=AuditQuery,
        errors=(400, 404, 422),
    ),
)


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


_PATTERNS = [(route, _pattern(route.path)) for route in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving a request, with its path parameters, as API Gateway would pick it."""
    for route, pattern in _PATTERNS:
        found = pattern.match(path)
        if found and route.method == method.upper():
            return route, found.groupdict()
    return None


def allowed_methods(path: str) -> list[str]:
    """The methods some route serves at this path (none: the path is unknown)."""
    return sorted({route.method for route, pattern in _PATTERNS if pattern.match(path)})

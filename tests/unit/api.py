"""A test client that drives the API's handlers with API Gateway proxy events, on moto."""

import importlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from outpost.api.routes import match
from outpost.api.schemas import ErrorResponse
from outpost.handlers import audit as audit_handler
from outpost.handlers import secrets as secrets_handler
from outpost.handlers import tasks as tasks_handler
from outpost.handlers import tenants as tenants_handler
from outpost.local.events import proxy_event, response_headers
from outpost.local.lambda_context import LocalLambdaContext
from outpost.models import Environment, Scope, Tier
from outpost.services.auth import Principal

if TYPE_CHECKING:
    from tests.unit.conftest import Store


def principal(
    tenant_id: UUID,
    *scopes: Scope,
    tier: Tier = Tier.PRO,
    environment: Environment = Environment.LIVE,
) -> Principal:
    """A caller as the authorizer describes it; all tenant scopes unless named."""
    return Principal(
        tenant_id=tenant_id,
        tier=tier,
        environment=environment,
        key_id="key_" + "0" * 24,
        key_prefix=f"op_{environment.value}_abcdef",
        scopes=frozenset(scopes) if scopes else frozenset(Scope) - {Scope.ADMIN},
    )


@dataclass
class Api:
    store: "Store"
    admin: Principal
    queue_urls: dict[Tier, str]
    flushes: list[tuple[str, str]] = field(default_factory=list)

    def call(
        self,
        method: str,
        path: str,
        as_: Principal,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        status, payload, _ = self.call_with_headers(
            method, path, as_, body, query=query, raw_body=raw_body, headers=headers
        )
        return status, payload

    def call_with_headers(
        self,
        method: str,
        path: str,
        as_: Principal,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        found = match(method, path)
        assert found is not None, f"no route for {method} {path}"
        route, params = found
        event = proxy_event(
            route,
            path,
            path_parameters=params,
            query=query or {},
            headers={
                "User-Agent": "pytest/1",
                "Content-Type": "application/json",
                **(headers or {}),
            },
            body=raw_body
            if raw_body is not None
            else (json.dumps(body) if body is not None else None),
            authorizer_context=as_.to_context(),
            source_ip="198.51.100.7",
        )
        module = importlib.import_module(route.group.handler.rsplit(".", 1)[0])
        response = module.handler(event, LocalLambdaContext(route.group.value))
        status, payload = response["statusCode"], json.loads(response["body"])
        # Every answer is what docs/api/openapi.yaml says it is.
        if status == route.status:
            route.response.model_validate(payload)
        else:
            ErrorResponse.model_validate(payload)
        return status, payload, response_headers(response)

    def new_tenant(self, email: str = "ops@acme.example", tier: str = "pro") -> dict[str, Any]:
        status, tenant = self.call(
            "POST", "/v1/tenants", self.admin, {"name": "Acme", "email": email, "tier": tier}
        )
        assert status == 201, tenant
        return tenant


def clear_handler_caches() -> None:
    tenants_handler._stores.cache_clear()
    audit_handler._repository.cache_clear()
    tasks_handler._service.cache_clear()
    secrets_handler._service.cache_clear()

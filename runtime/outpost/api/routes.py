"""Every route of the API, once: the AuthApi construct builds API Gateway from this table, the
local gateway routes by it, and a test holds docs/api/openapi.yaml to it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class RouteGroup(StrEnum):
    """One Lambda function serves each group."""

    HEALTH = "health"
    TENANTS = "tenants"
    AUDIT = "audit"

    @property
    def handler(self) -> str:
        return f"outpost.handlers.{self.value}.handler"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    group: RouteGroup
    authorized: bool = True


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", RouteGroup.HEALTH, authorized=False),
    Route("POST", "/v1/tenants", RouteGroup.TENANTS),
    Route("GET", "/v1/tenants/{tenant_id}", RouteGroup.TENANTS),
    Route("PATCH", "/v1/tenants/{tenant_id}", RouteGroup.TENANTS),
    Route("DELETE", "/v1/tenants/{tenant_id}", RouteGroup.TENANTS),
    Route("POST", "/v1/tenants/{tenant_id}/api-keys", RouteGroup.TENANTS),
    Route("GET", "/v1/tenants/{tenant_id}/api-keys", RouteGroup.TENANTS),
    Route("DELETE", "/v1/tenants/{tenant_id}/api-keys/{key_id}", RouteGroup.TENANTS),
    Route("GET", "/v1/audit", RouteGroup.AUDIT),
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

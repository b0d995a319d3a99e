"""A local stand-in for API Gateway: routes by the API's route table, runs the same TOKEN
authorizer function with API Gateway's per-token policy cache, builds the same proxy events
for the same handlers, and answers API Gateway's own errors in the API's JSON error shape.

Revocation takes effect at once here: the tenants handler's cache flush clears both this
policy cache and the authorizer's in-memory decisions.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from uuid import UUID

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerTokenEvent,
)

from outpost.api.routes import ROUTES, Route, RouteGroup, allowed_methods, match
from outpost.handlers import authorizer
from outpost.local.events import LOCAL_API_ID, LOCAL_STAGE, proxy_event, response_headers
from outpost.local.lambda_context import LocalLambdaContext
from outpost.models.tier import Tier
from outpost.services.audit import AuditService
from outpost.services.auth import AUTHORIZATION_PATTERN, Authenticator
from outpost.services.rate_limits import TokenBuckets

logger = Logger(service="outpost")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_WELL_FORMED = re.compile(AUTHORIZATION_PATTERN)
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LocalAuthorizer:
    """API Gateway's side of a TOKEN authorizer: a policy cache keyed by the token."""

    authenticator: Authenticator
    audit: AuditService
    cache_seconds: float
    rate_limits: TokenBuckets
    _policies: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authorize(self, token: str, method: str, path: str) -> dict[str, Any]:
        """The authorizer's policy for this token; raises authorizer.Unauthorized for a 401."""
        with self._lock:
            cached = self._policies.get(token)
            if cached and cached[0] > time.monotonic():
                return cached[1]
        api = f"arn:aws:execute-api:us-east-1:000000000000:{LOCAL_API_ID}"
        method_arn = f"{api}/{LOCAL_STAGE}/{method}{path}"
        event = APIGatewayAuthorizerTokenEvent(
            {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        )
        policy = authorizer.authorize(event, self.authenticator, self.audit, str(uuid.uuid4()))
        if self.cache_seconds > 0:
            with self._lock:
                self._policies[token] = (time.monotonic() + self.cache_seconds, policy)
        return policy

    def flush(self, api_id: str = LOCAL_API_ID, stage: str = LOCAL_STAGE) -> None:
        with self._lock:
            self._policies.clear()
        self.authenticator.clear_cache()


def _handlers() -> dict[RouteGroup, Handler]:
    handlers: dict[RouteGroup, Handler] = {}
    for group in {route.group for route in ROUTES}:
        module_name, _, function = group.handler.rpartition(".")
        handlers[group] = getattr(importlib.import_module(module_name), function)
    return handlers


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: fifty clients connecting at once had connections
    # reset (found by bench/load.py).
    request_queue_size = 128

    def __init__(self, host: str, port: int, local_authorizer: LocalAuthorizer) -> None:
        super().__init__((host, port), _RequestHandler)
        self.local_authorizer = local_authorizer
        self.handlers = _handlers()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def _error(
    status: int,
    error_type: str,
    message: str,
    request_id: str,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    body = {"error": {"type": error_type, "message": message, "request_id": request_id}}
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)


class _RequestHandler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def __getattr__(self, name: str) -> Any:
        """Any other method (HEAD, OPTIONS, TRACE, …) is answered too: 405 with Allow on a
        known path, 404 elsewhere, in the API's error shape — never the server's HTML 501."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines are not logged: they could carry anything a client sends."""

    def _serve(self) -> None:
        request_id = str(uuid.uuid4())
        try:
            status, headers, body = self._dispatch(request_id)
        except Exception:
            logger.exception("gateway failure", extra={"request_id": request_id})
            status, headers, body = _error(500, "internal_error", "internal error", request_id)
        payload = body.encode()
        self.send_response(status)
        for name, value in {
            **headers,
            "Content-Length": str(len(payload)),
            "X-Request-Id": request_id,
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _dispatch(self, request_id: str) -> tuple[int, dict[str, str], str]:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return _error(413, "payload_too_large", "request body exceeds 10 MB", request_id)
        raw_body = self.rfile.read(length) if length else b""
        found = match(self.command, url.path)
        if found is None:
            allowed = allowed_methods(url.path)
            if allowed:
                return _error(
                    405,
                    "method_not_allowed",
                    f"{self.command} is not allowed here",
                    request_id,
                    {"Allow": ", ".join(allowed)},
                )
            return _error(404, "not_found", "no such route", request_id)
        route, parameters = found
        context = self._authorize(route, url.path, request_id)
        if isinstance(context, tuple):
            return context
        try:
            body = raw_body.decode() if raw_body else None
        except UnicodeDecodeError:
            return _error(400, "invalid_request", "request body is not UTF-8", request_id)
        event = proxy_event(
            route,
            url.path,
            path_parameters=parameters,
            query=dict(parse_qsl(url.query)),
            headers=dict(self.headers.items()),
            body=body,
            authorizer_context=context,
            source_ip=self.client_address[0],
            request_id=request_id,
        )
        response = self.server.handlers[route.group](event, LocalLambdaContext(route.group.value))
        return (
            response["statusCode"],
            response_headers(response),
            response.get("body") or "",
        )

    def _authorize(
        self, route: Route, path: str, request_id: str
    ) -> dict[str, str] | tuple[int, dict[str, str], str] | None:
        """The authorizer context for the handler, or the error API Gateway would answer."""
        if not route.authorized:
            return None
        token = self.headers.get("Authorization") or ""
        if not _WELL_FORMED.match(token):  # API Gateway answers 401 without invoking it
            return _error(401, "unauthorized", "Unauthorized", request_id)
        try:
            policy = self.server.local_authorizer.authorize(token, route.method, path)
        except authorizer.Unauthorized:
            return _error(401, "unauthorized", "Unauthorized", request_id)
        if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            return _error(403, "forbidden", "this key may not access the API", request_id)
        context: dict[str, str] = {
            **policy.get("context", {}),
            "principalId": policy["principalId"],
        }
        # API Gateway's usage plans, per tenant and by tier: the same answer as its THROTTLED.
        if not self.server.local_authorizer.rate_limits.allow(
            UUID(context["tenant_id"]), Tier(context["tier"])
        ):
            return _error(
                429, "rate_limited", "too many requests", request_id, {"Retry-After": "1"}
            )
        return context

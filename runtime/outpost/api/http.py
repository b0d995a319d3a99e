"""What every route handler shares: the resolver with the API's error shape, the caller,
request parsing and responses.

Errors are always ``{"error": {"type", "message", "request_id"}}``. Validation messages name
fields and rules but never echo the input (it may hold a secret).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import BaseModel, ValidationError

from outpost.errors import (
    InvalidRequest,
    NotFound,
    OutpostError,
    Unauthenticated,
    ValidationFailed,
)
from outpost.models.audit import RequestMetadata
from outpost.services.auth import Caller, Principal

logger = Logger(service="outpost")

ModelT = TypeVar("ModelT", bound=BaseModel)
JSON = "application/json"


def json_response(
    status: int, payload: Any, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(payload, separators=(",", ":")),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error_response(
    status: int,
    error_type: str,
    message: str,
    request_id: str,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return json_response(
        status,
        {"error": {"type": error_type, "message": message, "request_id": request_id}},
        headers,
    )


def describe_validation(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in issue['loc']) or 'body'}: {issue['msg']}"
        for issue in error.errors(include_input=False, include_url=False)
    )


def new_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()

    def request_id() -> str:
        return str(app.current_event.request_context.request_id)

    def _refused(error: OutpostError) -> Response[str]:
        logger.info("request refused", extra={"error_type": error.type, "status": error.status})
        return error_response(
            error.status, error.type, error.message, request_id(), error.headers()
        )

    def _invalid(error: ValidationError) -> Response[str]:
        if any(issue["type"] == "json_invalid" for issue in error.errors()):
            return error_response(
                400, "invalid_json", "request body is not valid JSON", request_id()
            )
        refusal = ValidationFailed(describe_validation(error))
        return error_response(refusal.status, refusal.type, refusal.message, request_id())

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return error_response(404, NotFound.type, "no such route", request_id())

    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error", request_id())

    # Registered by call: Powertools' decorator is untyped.
    app.exception_handler(OutpostError)(_refused)
    app.exception_handler(ValidationError)(_invalid)
    app.exception_handler(Exception)(_unexpected)
    return app


def parse_body(app: APIGatewayRestResolver, model: type[ModelT]) -> ModelT:
    body = app.current_event.decoded_body
    if not body:
        raise InvalidRequest("a JSON request body is required")
    return model.model_validate_json(body)


def current_caller(app: APIGatewayRestResolver) -> Caller:
    """The caller as the authorizer described it (API Gateway passes its context along)."""
    event = app.current_event
    context = event.raw_event.get("requestContext", {}).get("authorizer") or {}
    identity = event.request_context.identity
    try:
        principal = Principal.from_context(context)
    except (KeyError, ValueError) as error:
        raise Unauthenticated("missing or invalid credentials") from error
    # Thread-local: local mode serves requests on concurrent threads of one process.
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(
        tenant_id=str(principal.tenant_id),
        request_id=str(event.request_context.request_id),
        key_prefix=principal.key_prefix,
    )
    return Caller(
        principal=principal,
        request_id=str(event.request_context.request_id),
        metadata=RequestMetadata(
            source_ip=identity.source_ip,
            user_agent=(identity.user_agent or "")[:512] or None,
            key_prefix=str(context.get("key_prefix")),
        ),
    )

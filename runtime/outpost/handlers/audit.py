"""GET /v1/audit: a tenant's audit trail, newest first, paginated."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response

from outpost.api.http import current_caller, json_response, new_resolver
from outpost.api.schemas import AuditPage
from outpost.data.audit import AuditRepository
from outpost.services.audit import AuditQuery, AuditSettings, read_audit
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")
app = new_resolver()


@cache
def _repository() -> AuditRepository:
    return AuditSettings.from_environ().audit_repository(boto3.client("dynamodb"))


@app.get("/v1/audit")
def list_audit() -> Response[str]:
    query = AuditQuery.model_validate(app.current_event.query_string_parameters or {})
    page = read_audit(current_caller(app), _repository(), query)
    return json_response(
        200, AuditPage(data=page.items, next_cursor=page.next_cursor).model_dump(mode="json")
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

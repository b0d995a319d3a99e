"""A tenant's provider keys: /v1/secrets…"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response

from outpost.api.http import current_caller, json_response, new_resolver, parse_body
from outpost.models.secret import StoreSecret
from outpost.services.secrets import SecretsService, SecretsSettings
from outpost.tracing import tracer
from outpost.wire_logs import keep_bodies_out_of_logs

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")
app = new_resolver()
keep_bodies_out_of_logs()


@cache
def _service() -> SecretsService:
    settings = SecretsSettings.from_environ()
    dynamodb = boto3.client("dynamodb")
    return SecretsService(
        settings.tenant_secrets(boto3.client("secretsmanager"), dynamodb),
        settings.audit_service(dynamodb, boto3.client("sqs")),
    )


@app.get("/v1/secrets")
def list_secrets() -> Response[str]:
    return json_response(200, _service().list(current_caller(app)).model_dump(mode="json"))


@app.put("/v1/secrets/<provider>")
def store_secret(provider: str) -> Response[str]:
    caller, body = current_caller(app), parse_body(app, StoreSecret)
    return json_response(200, _service().put(caller, provider, body).model_dump(mode="json"))


@app.delete("/v1/secrets/<provider>")
def delete_secret(provider: str) -> Response[str]:
    removed = _service().delete(current_caller(app), provider)
    return json_response(200, removed.model_dump(mode="json"))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

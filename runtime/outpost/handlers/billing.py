"""Billing: /v1/billing/checkout and /portal for tenants; /v1/billing/webhook for Stripe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response

from outpost.api.http import current_caller, json_response, new_resolver, parse_body
from outpost.api.schemas import CheckoutRequest
from outpost.errors import NotFound
from outpost.handlers import tenants as tenants_handler
from outpost.services.billing import BillingService
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")
app = new_resolver()


def _billing() -> BillingService:
    """Built per request from cached settings and a cached Stripe secret; a tier change goes
    through the tenant service, as an admin's would."""
    found = tenants_handler.billing(app)
    if found is None:
        raise NotFound("billing is not configured here")
    return found


@app.post("/v1/billing/checkout")
def checkout() -> Response[str]:
    caller, request = current_caller(app), parse_body(app, CheckoutRequest)
    return json_response(200, _billing().checkout(caller, request).model_dump())


@app.post("/v1/billing/portal")
def portal() -> Response[str]:
    return json_response(200, _billing().portal(current_caller(app)).model_dump())


@app.post("/v1/billing/webhook")
def webhook() -> Response[str]:
    event = app.current_event
    answer = _billing().receive(
        event.body or "",
        event.headers.get("Stripe-Signature"),
        str(event.request_context.request_id),
    )
    return json_response(200, answer.model_dump())


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

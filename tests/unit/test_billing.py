"""Billing against a local Stripe stand-in: customers made once, Checkout and portal links,
and webhooks signed exactly as Stripe signs them — valid, invalid, stale, replayed, out of
order — each event type moving the tier as specified."""

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from outpost.data.secrets import stripe_secret_name
from outpost.data.tenants import TenantRepository
from outpost.handlers import tenants as tenants_handler
from outpost.local.stripe_standin import StripeStandIn
from outpost.models import Scope, Tier
from outpost.services.billing import BillingService
from tests.unit.api import Api, principal
from tests.unit.conftest import ENVIRONMENT

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]

WEBHOOK_SECRET = "whsec_unit_" + "5" * 24
PRO_PRICE, ENTERPRISE_PRICE = "price_pro_unit", "price_enterprise_unit"


@pytest.fixture
def stand_in() -> Iterator[StripeStandIn]:
    server = StripeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def billing_api(api: Api, stand_in: StripeStandIn, monkeypatch: pytest.MonkeyPatch) -> Api:
    name = stripe_secret_name(ENVIRONMENT)
    boto3.client("secretsmanager").create_secret(
        Name=name,
        SecretString=json.dumps({"secret_key": "sk_test_unit", "webhook_secret": WEBHOOK_SECRET}),
    )
    for variable, value in {
        "OUTPOST_STRIPE_SECRET": name,
        "OUTPOST_STRIPE_API_BASE": stand_in.url,
        "OUTPOST_STRIPE_PRICE_PRO": PRO_PRICE,
        "OUTPOST_STRIPE_PRICE_ENTERPRISE": ENTERPRISE_PRICE,
    }.items():
        monkeypatch.setenv(variable, value)
    tenants_handler._billing_settings.cache_clear()
    parameters.clear_caches()
    yield api
    tenants_handler._billing_settings.cache_clear()
    parameters.clear_caches()


def sign(payload: str, at: int | None = None, secret: str = WEBHOOK_SECRET) -> str:
    """Stripe's scheme: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<payload>">."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def event(
    kind: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None
) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{time.time_ns()}",
            "object": "event",
            "type": kind,
            "created": created or int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "api_version": "2026-10-28",
        }
    )


def subscription(
    customer: str, status: str = "active", price: str = PRO_PRICE, sub_id: str = "sub_unit1"
) -> dict[str, Any]:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "items": {"object": "list", "data": [{"id": "si_1", "price": {"id": price}}]},
    }


def deliver(api: Api, payload: str, signature: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return api.call("POST", "/v1/billing/webhook", api.admin, raw_body=payload, headers=headers)


def onboard(api: Api) -> tuple[dict[str, Any], str]:
    tenant = api.new_tenant(f"{time.time_ns()}@acme.example", tier="free")
    assert tenant["stripe_customer_id"].startswith("cus_")
    return tenant, tenant["stripe_customer_id"]


def tier_of(api: Api, tenant: dict[str, Any]) -> str:
    return api.call("GET", f"/v1/tenants/{tenant['tenant_id']}", api.admin)[1]["tier"]


def test_a_new_tenant_gets_one_customer_even_when_creation_is_retried(
    billing_api: Api, stand_in: StripeStandIn
) -> None:
    tenant, customer = onboard(billing_api)
    assert stand_in.customers[customer]["metadata"] == {"tenant_id": tenant["tenant_id"]}
    # A retried creation (the tenant record still without its customer) gets the same one.
    repository = TenantRepository(billing_api.store.client, billing_api.store.tenants)
    stored = repository.get(UUID(tenant["tenant_id"]))
    bare = stored.model_copy(update={"stripe_customer_id": None})
    service = tenants_handler.billing(_resolver_for_tests())
    assert isinstance(service, BillingService)
    again = service.ensure_customer(bare, "req-retry")
    assert again.stripe_customer_id == customer
    assert len(stand_in.customers) == 1


def _resolver_for_tests() -> Any:
    """The tenants handler needs a request's context to flush the right stage's cache."""

    class Context:
        api_id, stage = "local", "v1"

    class Event:
        request_context = Context()

    class Resolver:
        current_event = Event()

    return Resolver()


def test_checkout_and_portal_give_stripe_links(billing_api: Api, stand_in: StripeStandIn) -> None:
    tenant, customer = onboard(billing_api)
    me = principal(UUID(tenant["tenant_id"]), tier=Tier.FREE)
    status, link = billing_api.call("POST", "/v1/billing/checkout", me, {"plan": "enterprise"})
    assert status == 200
    assert link["url"].startswith(stand_in.url)
    session = stand_in.sessions[-1]
    assert (session["customer"], session["client_reference_id"]) == (customer, tenant["tenant_id"])
    assert session["line_items"] == {"0": {"price": ENTERPRISE_PRICE, "quantity": "1"}}
    assert session["subscription_data"] == {"metadata": {"tenant_id": tenant["tenant_id"]}}
    status, link = billing_api.call("POST", "/v1/billing/portal", me)
    assert status == 200
    assert stand_in.sessions[-1]["customer"] == customer
    assert billing_api.call("POST", "/v1/billing/checkout", me, {"plan": "free"})[0] == 422


def test_a_subscription_sets_the_tier_and_the_admin_can_no_longer(billing_api: Api) -> None:
    tenant, customer = onboard(billing_api)
    payload = event("customer.subscription.created", subscription(customer))
    status, answer = deliver(billing_api, payload, sign(payload))
    assert (status, answer["outcome"]) == (200, "applied")
    assert tier_of(billing_api, tenant) == "pro"
    status, refused = billing_api.call(
        "PATCH", f"/v1/tenants/{tenant['tenant_id']}", billing_api.admin, {"tier": "enterprise"}
    )
    assert (status, refused["error"]["type"]) == (409, "conflict")
    me = principal(UUID(tenant["tenant_id"]), Scope.AUDIT_READ)
    actions = [e["action"] for e in billing_api.call("GET", "/v1/audit", me)[1]["data"]]
    assert "billing.subscription_changed" in actions


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "garbage",
        "t=1,v1=" + "0" * 64,
        "wrong-secret",
        "stale",
    ],
)
def test_unsigned_wrongly_signed_or_stale_deliveries_are_refused(
    billing_api: Api, signature: str | None
) -> None:
    tenant, customer = onboard(billing_api)
    payload = event("customer.subscription.created", subscription(customer))
    if signature == "wrong-secret":
        signature = sign(payload, secret="whsec_someone_else")
    elif signature == "stale":
        signature = sign(payload, at=int(time.time()) - 301)
    status, answer = deliver(billing_api, payload, signature)
    assert (status, answer["error"]["type"]) == (400, "invalid_request")
    assert tier_of(billing_api, tenant) == "free"


def test_a_signed_body_that_is_not_an_event_is_refused(billing_api: Api) -> None:
    payload = "not json at all"
    status, answer = deliver(billing_api, payload, sign(payload))
    assert (status, answer["error"]["type"]) == (400, "invalid_request")


def test_a_replayed_event_changes_nothing(billing_api: Api) -> None:
    tenant, customer = onboard(billing_api)
    created = event(
        "customer.subscription.created", subscription(customer), event_id="evt_replayed"
    )
    assert deliver(billing_api, created, sign(created))[1]["outcome"] == "applied"
    deleted = event("customer.subscription.deleted", subscription(customer, status="canceled"))
    assert deliver(billing_api, deleted, sign(deleted))[1]["outcome"] == "applied"
    assert tier_of(billing_api, tenant) == "free"
    assert deliver(billing_api, created, sign(created))[1]["outcome"] == "duplicate"
    assert tier_of(billing_api, tenant) == "free"


def test_out_of_order_events_never_regress_the_tier(billing_api: Api) -> None:
    tenant, customer = onboard(billing_api)
    now = int(time.time())
    newer = event(
        "customer.subscription.updated", subscription(customer, price=ENTERPRISE_PRICE), created=now
    )
    older = event(
        "customer.subscription.created", subscription(customer, price=PRO_PRICE), created=now - 60
    )
    assert deliver(billing_api, newer, sign(newer))[1]["outcome"] == "applied"
    assert deliver(billing_api, older, sign(older))[1]["outcome"] == "stale"
    assert tier_of(billing_api, tenant) == "enterprise"


@pytest.mark.parametrize(
    ("status", "tier"),
    [
        ("active", "pro"),
        ("trialing", "pro"),
        ("past_due", "pro"),
        ("unpaid", "free"),
        ("canceled", "free"),
    ],
)
def test_each_subscription_status_decides_the_tier(
    billing_api: Api, status: str, tier: str
) -> None:
    tenant, customer = onboard(billing_api)
    start = event(
        "customer.subscription.created", subscription(customer), created=int(time.time()) - 10
    )
    deliver(billing_api, start, sign(start))
    changed = event("customer.subscription.updated", subscription(customer, status=status))
    assert deliver(billing_api, changed, sign(changed))[1]["outcome"] == "applied"
    assert tier_of(billing_api, tenant) == tier


@pytest.mark.parametrize(("status", "tier"), [("past_due", "pro"), ("unpaid", "free")])
def test_a_failed_payment_follows_the_subscriptions_own_status(
    billing_api: Api, stand_in: StripeStandIn, status: str, tier: str
) -> None:
    tenant, customer = onboard(billing_api)
    start = event(
        "customer.subscription.created",
        subscription(customer, sub_id="sub_failing"),
        created=int(time.time()) - 10,
    )
    deliver(billing_api, start, sign(start))
    stand_in.subscriptions["sub_failing"] = subscription(
        customer, status=status, sub_id="sub_failing"
    )
    invoice = {
        "id": "in_1",
        "object": "invoice",
        "customer": customer,
        "parent": {"subscription_details": {"subscription": "sub_failing"}},
    }
    failed = event("invoice.payment_failed", invoice)
    assert deliver(billing_api, failed, sign(failed))[1]["outcome"] == "applied"
    assert tier_of(billing_api, tenant) == tier


def test_checkout_completion_links_the_customer(billing_api: Api) -> None:
    tenant = billing_api.new_tenant(f"{time.time_ns()}@acme.example", tier="free")
    repository = TenantRepository(billing_api.store.client, billing_api.store.tenants)
    session = {"id": "cs_1", "object": "checkout.session", "customer": tenant["stripe_customer_id"],
               "client_reference_id": tenant["tenant_id"], "subscription": "sub_x"}  # fmt: skip
    completed = event("checkout.session.completed", session)
    assert deliver(billing_api, completed, sign(completed))[1]["outcome"] == "applied"
    assert repository.find_by_customer(tenant["stripe_customer_id"]).tenant_id == UUID(
        tenant["tenant_id"]
    )


def test_events_it_does_not_handle_are_acknowledged(billing_api: Api) -> None:
    payload = event("charge.succeeded", {"id": "ch_1", "object": "charge"})
    assert deliver(billing_api, payload, sign(payload)) == (
        200,
        {"received": True, "outcome": "ignored"},
    )

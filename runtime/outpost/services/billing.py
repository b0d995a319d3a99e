"""Billing: Stripe customers, Checkout and portal sessions, and the webhook events that set a
tenant's tier.

Billing is the source of truth for the tier of a tenant with a live Stripe subscription. An
event changes a tenant only if Stripe created it no earlier than the last one applied (events
arrive out of order), and each event is applied once (its id is remembered for 30 days, the
longest Stripe retries). A subscription's own status decides: active, trialing and past_due
(Stripe is still retrying the payment) keep the plan's tier; unpaid, canceled and
incomplete_expired drop the tenant to free. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import stripe
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, Field

from outpost.api.schemas import CheckoutRequest, SessionLink, WebhookAnswer
from outpost.data.tables import IDEMPOTENCY, TENANTS
from outpost.data.tenants import TenantRepository
from outpost.errors import Conflict, InvalidRequest, NotFound
from outpost.models.api_key import Scope
from outpost.models.audit import AuditEntry
from outpost.models.tenant import Subscription, SubscriptionStatus, Tenant
from outpost.models.tier import Tier
from outpost.services.audit import AuditService, AuditSettings
from outpost.services.auth import Caller, require_scope

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(service="outpost")

SIGNATURE_TOLERANCE_SECONDS = 300
EVENT_MEMORY_SECONDS = 30 * 24 * 3600
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
HANDLED_EVENTS = SUBSCRIPTION_EVENTS | {"checkout.session.completed", "invoice.payment_failed"}


class BillingPages(BaseModel):
    """Where Stripe sends customers back to (from config)."""

    model_config = ConfigDict(frozen=True)

    success_url: str
    cancel_url: str
    portal_return_url: str


class ProcessedEvents:
    """Stripe event ids already applied, in the idempotency table, expiring after 30 days."""

    def __init__(self, client: DynamoDBClient, table: str, now: Callable[[], datetime]) -> None:
        self._client = client
        self._table = table
        self._now = now

    def _key(self, event_id: str) -> dict[str, Any]:
        return {"id": {"S": f"stripe-event#{event_id}"}}

    def seen(self, event_id: str) -> bool:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(event_id), ConsistentRead=True
        )
        return "Item" in item

    def remember(self, event_id: str) -> None:
        expires = int(self._now().timestamp()) + EVENT_MEMORY_SECONDS
        self._client.put_item(
            TableName=self._table,
            Item={**self._key(event_id), "expiration": {"N": str(expires)}},
        )


# Stores a tenant whose tier billing changed, with an admin change's side effects.
TierChange = Callable[[Tenant, Tenant], None]


class BillingService:
    def __init__(
        self,
        *,
        stripe_client: stripe.StripeClient,
        webhook_secret: str,
        tenants: TenantRepository,
        events: ProcessedEvents,
        audit: AuditService,
        prices: Mapping[Tier, str],
        pages: BillingPages,
        apply_tier: TierChange,
    ) -> None:
        self._stripe = stripe_client
        self._webhook_secret = webhook_secret
        self._tenants = tenants
        self._events = events
        self._audit = audit
        self._prices = dict(prices)
        self._tiers_by_price = {price: tier for tier, price in prices.items()}
        self._pages = pages
        self._apply_tier = apply_tier

    # --- customers and sessions --------------------------------------------------------

    def ensure_customer(self, tenant: Tenant, request_id: str) -> Tenant:
        """The tenant with its Stripe customer, created once: the idempotency key is the
        tenant's id, so a retried creation gets the same customer back."""
        if tenant.stripe_customer_id:
            return tenant
        customer = self._stripe.v1.customers.create(
            params={
                "email": str(tenant.email),
                "name": tenant.name,
                "metadata": {"tenant_id": str(tenant.tenant_id)},
            },
            options={"idempotency_key": f"outpost-customer-{tenant.tenant_id}"},
        )
        linked = self._tenants.link_customer(tenant.tenant_id, customer.id)
        self._record(tenant.tenant_id, "billing.customer_created", request_id, customer=customer.id)
        return linked

    def checkout(self, caller: Caller, request: CheckoutRequest) -> SessionLink:
        tenant = self._own_tenant(caller)
        if tenant.billed_by_stripe:
            raise Conflict("this tenant has a subscription already; change it in the portal")
        tenant = self.ensure_customer(tenant, caller.request_id)
        session = self._stripe.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": str(tenant.stripe_customer_id),
                "client_reference_id": str(tenant.tenant_id),
                "line_items": [{"price": self._prices[Tier(request.plan)], "quantity": 1}],
                "success_url": self._pages.success_url,
                "cancel_url": self._pages.cancel_url,
                "subscription_data": {"metadata": {"tenant_id": str(tenant.tenant_id)}},
            }
        )
        self._record(
            tenant.tenant_id, "billing.checkout_started", caller.request_id, plan=request.plan
        )
        return SessionLink(url=str(session.url))

    def portal(self, caller: Caller) -> SessionLink:
        tenant = self.ensure_customer(self._own_tenant(caller), caller.request_id)
        session = self._stripe.v1.billing_portal.sessions.create(
            params={
                "customer": str(tenant.stripe_customer_id),
                "return_url": self._pages.portal_return_url,
            }
        )
        return SessionLink(url=str(session.url))

    def _own_tenant(self, caller: Caller) -> Tenant:
        require_scope(caller, Scope.TASKS_WRITE)
        tenant = self._tenants.get(caller.principal.tenant_id)
        if tenant is None or not tenant.is_active:
            raise NotFound("no such tenant")
        return tenant

    # --- webhooks --------------------------------------------------------------------------

    def receive(self, payload: str, signature: str | None, request_id: str) -> WebhookAnswer:
        """Verify, dedupe and apply one webhook delivery."""
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, self._webhook_secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError:
            raise InvalidRequest("the Stripe-Signature header is missing, stale or wrong") from None
        except ValueError:
            raise InvalidRequest("the body is not a Stripe event") from None
        if event.type not in HANDLED_EVENTS:
            return WebhookAnswer(outcome="ignored")
        if self._events.seen(event.id):
            return WebhookAnswer(outcome="duplicate")
        outcome = self._apply(event, request_id)
        self._events.remember(event.id)
        logger.info("stripe event handled", extra={"event_type": event.type, "outcome": outcome})
        return WebhookAnswer(outcome=outcome)

    def _apply(self, event: stripe.Event, request_id: str) -> str:
        # Plain dicts from here: Stripe's objects are not mappings.
        data: dict[str, Any] = event.data.object.to_dict()
        at = datetime.fromtimestamp(event.created, tz=UTC)
        if event.type == "checkout.session.completed":
            return self._checkout_completed(data, request_id)
        if event.type == "invoice.payment_failed":
            subscription_id = _subscription_of_invoice(data)
            if subscription_id is None:
                return "ignored"
            current = self._stripe.v1.subscriptions.retrieve(subscription_id).to_dict()
            return self._subscription_changed(current, at, request_id, deleted=False)
        return self._subscription_changed(
            data, at, request_id, deleted=event.type == "customer.subscription.deleted"
        )

    def _checkout_completed(self, session: Any, request_id: str) -> str:
        """Link the customer to the tenant that started the checkout (the subscription's own
        events set the tier)."""
        tenant_id, customer = session.get("client_reference_id"), session.get("customer")
        if not tenant_id or not customer:
            return "ignored"
        tenant = self._tenants.get(UUID(str(tenant_id)))
        if tenant is None:
            return "ignored"
        self._tenants.link_customer(tenant.tenant_id, str(customer))
        self._record(
            tenant.tenant_id, "billing.checkout_completed", request_id, customer=str(customer)
        )
        return "applied"

    def _subscription_changed(
        self, subscription: Any, at: datetime, request_id: str, *, deleted: bool
    ) -> str:
        tenant = self._tenants.find_by_customer(str(subscription["customer"]))
        if tenant is None:
            logger.warning("subscription of an unknown customer")
            return "ignored"
        previous = tenant.subscription
        if previous is not None and at < previous.event_at:
            return "stale"
        status = (
            SubscriptionStatus.CANCELED if deleted else SubscriptionStatus(subscription["status"])
        )
        price_id = _price_of(subscription)
        tier = self._tier_for(status, price_id, tenant)
        updated = tenant.model_copy(
            update={
                "tier": tier,
                "subscription": Subscription(
                    subscription_id=str(subscription["id"]),
                    status=status,
                    price_id=price_id,
                    event_at=at,
                ),
                "updated_at": datetime.now(UTC),
            }
        )
        self._apply_tier(tenant, updated)
        if tier is not tenant.tier or previous is None or previous.status is not status:
            self._record(
                tenant.tenant_id,
                "billing.subscription_changed",
                request_id,
                status=status.value,
                tier_before=tenant.tier.value,
                tier_after=tier.value,
            )
        return "applied"

    def _tier_for(self, status: SubscriptionStatus, price_id: str | None, tenant: Tenant) -> Tier:
        if not status.keeps_paid_tier:
            return Tier.FREE
        if status is SubscriptionStatus.INCOMPLETE:
            return tenant.tier
        tier = self._tiers_by_price.get(price_id or "")
        if tier is None:
            logger.warning(
                "subscription to an unknown price; tier unchanged", extra={"price_id": price_id}
            )
            return tenant.tier
        return tier

    def _record(self, tenant_id: UUID, action: str, request_id: str, **details: str) -> None:
        self._audit.record(
            AuditEntry(
                tenant_id=tenant_id,
                action=action,
                resource=f"tenants/{tenant_id}/billing",
                request_id=request_id,
                details=dict(details),
            )
        )


def _price_of(subscription: Any) -> str | None:
    items = subscription.get("items") or {}
    data = items.get("data") or []
    return str(data[0]["price"]["id"]) if data else None


def _subscription_of_invoice(invoice: Any) -> str | None:
    """Where the invoice names its subscription: at the top (older API versions) or under
    ``parent.subscription_details`` (current ones)."""
    if invoice.get("subscription"):
        return str(invoice["subscription"])
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return str(details["subscription"]) if details.get("subscription") else None


class BillingSettings(AuditSettings):
    """Where billing's parts are; without a Stripe secret name, billing is off (local mode
    without a Stripe stand-in, unit tests of other routes)."""

    tenants_table: str = Field(alias=TENANTS.env_var)
    idempotency_table: str = Field(alias=IDEMPOTENCY.env_var)
    stripe_secret_name: str | None = Field(alias="OUTPOST_STRIPE_SECRET", default=None)
    stripe_api_base: str | None = Field(alias="OUTPOST_STRIPE_API_BASE", default=None)
    pro_price: str = Field(alias="OUTPOST_STRIPE_PRICE_PRO", default="price_pro")
    enterprise_price: str = Field(
        alias="OUTPOST_STRIPE_PRICE_ENTERPRISE", default="price_enterprise"
    )
    success_url: str = Field(
        alias="OUTPOST_BILLING_SUCCESS_URL", default="https://outpost.example/billing/done"
    )
    cancel_url: str = Field(
        alias="OUTPOST_BILLING_CANCEL_URL", default="https://outpost.example/billing"
    )
    portal_return_url: str = Field(
        alias="OUTPOST_BILLING_RETURN_URL", default="https://outpost.example/billing"
    )

    def billing_service(
        self, dynamodb: DynamoDBClient, audit: AuditService, apply_tier: TierChange
    ) -> BillingService | None:
        if self.stripe_secret_name is None:
            return None
        # Cached for five minutes: a rotated key is picked up without a deploy.
        keys = parameters.get_secret(self.stripe_secret_name, transform="json", max_age=300)
        client = stripe.StripeClient(
            keys["secret_key"],
            base_addresses={"api": self.stripe_api_base} if self.stripe_api_base else None,
            max_network_retries=2,
        )
        return BillingService(
            stripe_client=client,
            webhook_secret=keys["webhook_secret"],
            tenants=TenantRepository(dynamodb, self.tenants_table),
            events=ProcessedEvents(dynamodb, self.idempotency_table, lambda: datetime.now(UTC)),
            audit=audit,
            prices={Tier.PRO: self.pro_price, Tier.ENTERPRISE: self.enterprise_price},
            pages=BillingPages(
                success_url=self.success_url,
                cancel_url=self.cancel_url,
                portal_return_url=self.portal_return_url,
            ),
            apply_tier=apply_tier,
        )

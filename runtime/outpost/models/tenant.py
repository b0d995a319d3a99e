"""A tenant: one customer account, the unit of isolation, quota and billing."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import EmailStr, Field, StringConstraints

from outpost.models.common import DomainModel, UtcDatetime, utc_now
from outpost.models.tier import Tier

TenantName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
StripeCustomerId = Annotated[str, StringConstraints(pattern=r"^cus_[A-Za-z0-9]{1,250}$")]


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    # Soft-deleted: kept for audit and billing history; its keys stop authorizing.
    DELETED = "deleted"


class SubscriptionStatus(StrEnum):
    """Stripe's subscription statuses."""

    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    PAUSED = "paused"

    @property
    def keeps_paid_tier(self) -> bool:
        """Paying, or paying late while Stripe retries (past_due): the plan's tier holds."""
        return self in {
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.PAST_DUE,
        }


class Subscription(DomainModel):
    """The tenant's Stripe subscription as the last applied webhook event described it."""

    subscription_id: Annotated[str, StringConstraints(pattern=r"^sub_[A-Za-z0-9]{1,250}$")]
    status: SubscriptionStatus
    price_id: str | None = None
    event_at: UtcDatetime = Field(
        description="When Stripe created the event last applied: older events are ignored."
    )


class Tenant(DomainModel):
    tenant_id: UUID = Field(default_factory=uuid4)
    name: TenantName
    email: EmailStr
    tier: Tier = Tier.FREE
    status: TenantStatus = TenantStatus.ACTIVE
    stripe_customer_id: StripeCustomerId | None = None
    subscription: Subscription | None = None
    created_at: UtcDatetime = Field(default_factory=utc_now)
    updated_at: UtcDatetime = Field(default_factory=utc_now)

    @property
    def is_active(self) -> bool:
        return self.status is TenantStatus.ACTIVE

    @property
    def billed_by_stripe(self) -> bool:
        """Billing, not an admin, sets the tier of a tenant with a live subscription."""
        return self.subscription is not None and self.subscription.status not in {
            SubscriptionStatus.CANCELED,
            SubscriptionStatus.INCOMPLETE_EXPIRED,
        }

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


class Tenant(DomainModel):
    tenant_id: UUID = Field(default_factory=uuid4)
    name: TenantName
    email: EmailStr
    tier: Tier = Tier.FREE
    status: TenantStatus = TenantStatus.ACTIVE
    stripe_customer_id: StripeCustomerId | None = None
    created_at: UtcDatetime = Field(default_factory=utc_now)
    updated_at: UtcDatetime = Field(default_factory=utc_now)

    @property
    def is_active(self) -> bool:
        return self.status is TenantStatus.ACTIVE

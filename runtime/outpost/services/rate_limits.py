"""Per-tenant request-rate limits, by tier (stage throttling alone is global).

In the cloud, API Gateway enforces them: one usage plan per tier, and one gateway API key per
tenant in its tier's plan. The keys only identify tenants to the usage plans (the authorizer
names the key, with ``ApiKeySourceType.AUTHORIZER``; clients never send it), so a key's value
is derived from the tenant id and nothing new is stored. Local mode enforces the same limits
with a token bucket per tenant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from outpost.models.tier import TIERS, Tier, TierLimits

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient


def usage_key_value(tenant_id: UUID) -> str:
    """The gateway API key value that names a tenant to the usage plans."""
    return f"tenant-{tenant_id}"


def usage_plan_name(environment: str, tier: Tier) -> str:
    return f"outpost-{environment}-{tier.value}"


class RatePlans(Protocol):
    """Where a tenant's rate limit is kept: enrolled at onboarding, moved with its tier."""

    def enrol(self, tenant_id: UUID, tier: Tier) -> None: ...

    def move(self, tenant_id: UUID, old: Tier, new: Tier) -> None: ...

    def remove(self, tenant_id: UUID) -> None: ...


class UsagePlans:
    """API Gateway usage plans, found by name (``outpost-<env>-<tier>``)."""

    def __init__(self, client: APIGatewayClient, environment: str) -> None:
        self._client = client
        self._environment = environment

    @cached_property
    def _plan_ids(self) -> dict[Tier, str]:
        names = {usage_plan_name(self._environment, tier): tier for tier in Tier}
        plans: dict[Tier, str] = {}
        for page in self._client.get_paginator("get_usage_plans").paginate():
            for plan in page.get("items", []):
                if plan.get("name") in names:
                    plans[names[plan["name"]]] = plan["id"]
        return plans

    def _key_id(self, tenant_id: UUID) -> str | None:
        keys = self._client.get_api_keys(nameQuery=usage_key_value(tenant_id), includeValues=False)
        return next(
            (k["id"] for k in keys.get("items", []) if k["name"] == usage_key_value(tenant_id)),
            None,
        )

    def enrol(self, tenant_id: UUID, tier: Tier) -> None:
        key_id = (
            self._key_id(tenant_id)
            or self._client.create_api_key(
                name=usage_key_value(tenant_id), value=usage_key_value(tenant_id), enabled=True
            )["id"]
        )
        self._client.create_usage_plan_key(
            usagePlanId=self._plan_ids[tier], keyId=key_id, keyType="API_KEY"
        )

    def move(self, tenant_id: UUID, old: Tier, new: Tier) -> None:
        key_id = self._key_id(tenant_id)
        if key_id is None:
            self.enrol(tenant_id, new)
            return
        self._client.delete_usage_plan_key(usagePlanId=self._plan_ids[old], keyId=key_id)
        self._client.create_usage_plan_key(
            usagePlanId=self._plan_ids[new], keyId=key_id, keyType="API_KEY"
        )

    def remove(self, tenant_id: UUID) -> None:
        key_id = self._key_id(tenant_id)
        if key_id is not None:
            self._client.delete_api_key(apiKey=key_id)


class TokenBuckets:
    """Local mode's limiter: a token bucket per tenant, refilled at the tier's rate up to its
    burst. Plans need no enrolment here: the bucket follows the tier of each request."""

    def __init__(
        self,
        tiers: Mapping[Tier, TierLimits] = TIERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tiers = tiers
        self._clock = clock
        self._buckets: dict[UUID, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, tenant_id: UUID, tier: Tier) -> bool:
        limits = self._tiers[tier]
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(tenant_id, (float(limits.burst), now))
            tokens = min(float(limits.burst), tokens + (now - last) * limits.requests_per_second)
            allowed = tokens >= 1
            self._buckets[tenant_id] = (tokens - 1 if allowed else tokens, now)
            return allowed

    def enrol(self, tenant_id: UUID, tier: Tier) -> None:
        """Nothing to enrol locally."""

    def move(self, tenant_id: UUID, old: Tier, new: Tier) -> None:
        """Nothing to move locally."""

    def remove(self, tenant_id: UUID) -> None:
        with self._lock:
            self._buckets.pop(tenant_id, None)

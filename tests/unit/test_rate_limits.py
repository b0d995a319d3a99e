"""Per-tenant rate limits: local token buckets, and API Gateway usage plans (moto)."""

from uuid import uuid4

import boto3
import pytest

from outpost.models import TIERS, Tier
from outpost.services.rate_limits import TokenBuckets, UsagePlans, usage_key_value, usage_plan_name
from tests.unit.conftest import Store


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_tenant_gets_its_burst_then_its_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(clock=clock)
    tenant = uuid4()
    burst = TIERS[Tier.FREE].burst
    assert [buckets.allow(tenant, Tier.FREE) for _ in range(burst + 1)] == [True] * burst + [False]
    clock.now += 1 / TIERS[Tier.FREE].requests_per_second
    assert buckets.allow(tenant, Tier.FREE)
    assert not buckets.allow(tenant, Tier.FREE)


def test_tenants_have_their_own_buckets_sized_by_tier() -> None:
    buckets = TokenBuckets(clock=Clock())
    flood, other, big = uuid4(), uuid4(), uuid4()
    while buckets.allow(flood, Tier.FREE):
        pass
    assert buckets.allow(other, Tier.FREE)
    assert (
        sum(buckets.allow(big, Tier.ENTERPRISE) for _ in range(200)) == TIERS[Tier.ENTERPRISE].burst
    )


@pytest.fixture
def plans(store: Store) -> tuple[UsagePlans, dict[Tier, str]]:
    client = boto3.client("apigateway")
    ids = {
        tier: client.create_usage_plan(name=usage_plan_name("unit", tier))["id"] for tier in Tier
    }
    client.create_usage_plan(name="someone-elses-plan")
    return UsagePlans(client, "unit"), ids


def plan_of(tenant: object, ids: dict[Tier, str]) -> list[Tier]:
    client = boto3.client("apigateway")
    return [
        tier
        for tier, plan in ids.items()
        if any(
            k["name"] == usage_key_value(tenant)
            for k in client.get_usage_plan_keys(usagePlanId=plan)["items"]
        )  # type: ignore[arg-type]
    ]


def test_tenants_are_enrolled_moved_and_removed(plans: tuple[UsagePlans, dict[Tier, str]]) -> None:
    usage_plans, ids = plans
    tenant = uuid4()
    usage_plans.enrol(tenant, Tier.FREE)
    assert plan_of(tenant, ids) == [Tier.FREE]
    key = boto3.client("apigateway").get_api_keys(includeValues=True)["items"][0]
    assert key["value"] == usage_key_value(tenant)
    usage_plans.move(tenant, Tier.FREE, Tier.PRO)
    assert plan_of(tenant, ids) == [Tier.PRO]
    usage_plans.remove(tenant)
    assert boto3.client("apigateway").get_api_keys()["items"] == []

"""The daily quota's condition, checked sequentially against moto.

moto does not serialize concurrent writes the way DynamoDB does, so a race of 50 parallel
submissions proves nothing here. What makes the race safe on DynamoDB is that the condition
and the increment are one atomic UpdateItem (inside the submission's transaction); these tests
check that condition: exactly `limit` units are granted, then every further one is refused.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from outpost.data.tasks import TaskRepository
from outpost.models import TIERS, Environment, Executor, Task, Tier
from outpost.services.quota import DailyQuota, day_sort_key, seconds_until_reset
from tests.unit.conftest import Store

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


Submit = Callable[[UUID, Tier, Environment, datetime], bool]


@pytest.fixture
def quota(store: Store) -> DailyQuota:
    return DailyQuota(store.usage)


@pytest.fixture
def submit(store: Store, quota: DailyQuota) -> Submit:
    """One submission as the task API makes it: the task and the quota unit in one transaction."""

    def attempt(tenant_id: UUID, tier: Tier, environment: Environment, now: datetime) -> bool:
        task = Task.submit(
            tenant_id=tenant_id,
            environment=environment,
            repo="o/r",
            task="t",
            executor=Executor.CLAUDE,
            limits=TIERS[tier],
        )
        try:
            TaskRepository(store.client, store.tasks).create(
                task, also=[quota.take(tenant_id, environment, TIERS[tier], now)]
            )
        except store.client.exceptions.TransactionCanceledException:
            return False
        return True

    return attempt


def test_free_tier_gets_exactly_ten_a_day(store: Store, quota: DailyQuota, submit: Submit) -> None:
    tenant = uuid4()
    results = [submit(tenant, Tier.FREE, Environment.LIVE, NOON) for _ in range(50)]
    assert results == [True] * 10 + [False] * 40
    assert quota.used(store.client, tenant, Environment.LIVE, NOON.date()) == 10
    tasks = store.client.scan(TableName=store.tasks)["Items"]
    assert len([t for t in tasks if t["sk"]["S"] == "task"]) == 10  # refused ones wrote nothing


def test_live_and_test_count_separately_and_reset_at_utc_midnight(submit: Submit) -> None:
    tenant = uuid4()
    for _ in range(10):
        assert submit(tenant, Tier.FREE, Environment.LIVE, NOON)
    assert not submit(tenant, Tier.FREE, Environment.LIVE, NOON)
    assert submit(tenant, Tier.FREE, Environment.TEST, NOON)
    just_before = datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC)
    assert not submit(tenant, Tier.FREE, Environment.LIVE, just_before)
    assert submit(tenant, Tier.FREE, Environment.LIVE, just_before + timedelta(seconds=1))


def test_tenants_do_not_share_a_quota(submit: Submit) -> None:
    first, second = uuid4(), uuid4()
    for _ in range(10):
        submit(first, Tier.FREE, Environment.LIVE, NOON)
    assert submit(second, Tier.FREE, Environment.LIVE, NOON)


def test_pro_gets_a_hundred_and_enterprise_is_counted_but_unlimited(
    store: Store, quota: DailyQuota, submit: Submit
) -> None:
    pro, enterprise = uuid4(), uuid4()
    assert sum(submit(pro, Tier.PRO, Environment.LIVE, NOON) for _ in range(101)) == 100
    assert all(submit(enterprise, Tier.ENTERPRISE, Environment.LIVE, NOON) for _ in range(150))
    assert quota.used(store.client, enterprise, Environment.LIVE, NOON.date()) == 150


def test_counters_expire_and_are_keyed_by_environment_and_day(store: Store, submit: Submit) -> None:
    tenant = uuid4()
    submit(tenant, Tier.FREE, Environment.TEST, NOON)
    (item,) = store.client.scan(TableName=store.usage)["Items"]
    assert item["sk"]["S"] == day_sort_key(Environment.TEST, NOON.date()) == "test#day#2026-11-23"
    assert int(item["expires_at"]["N"]) > NOON.timestamp()


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        (NOON, 12 * 3600),
        (datetime(2026, 11, 23, 23, 59, 59, 500_000, tzinfo=UTC), 1),
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), 24 * 3600),
    ],
)
def test_retry_after_is_the_time_to_utc_midnight(now: datetime, seconds: int) -> None:
    assert seconds_until_reset(now) == seconds

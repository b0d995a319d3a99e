"""Concurrency slots against moto: limits, idempotent re-acquire, release, and lease expiry."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from outpost.services.slots import ConcurrencySlots
from tests.unit.conftest import Store

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def slots(store: Store, clock: Clock) -> ConcurrencySlots:
    return ConcurrencySlots(store.client, store.usage, LEASE, now=clock)


def test_a_free_tenant_runs_one_at_a_time(slots: ConcurrencySlots) -> None:
    tenant = uuid4()
    assert slots.acquire(tenant, "run_a", limit=1)
    assert not slots.acquire(tenant, "run_b", limit=1)
    slots.release(tenant, "run_a")
    assert slots.acquire(tenant, "run_b", limit=1)
    assert slots.in_use(tenant) == 1


def test_limits_are_per_tenant_and_reacquiring_is_idempotent(slots: ConcurrencySlots) -> None:
    first, second = uuid4(), uuid4()
    assert all(slots.acquire(first, f"run_{i}", limit=3) for i in range(3))
    assert slots.acquire(first, "run_1", limit=3)  # a redelivered run keeps its slot
    assert not slots.acquire(first, "run_3", limit=3)
    assert slots.acquire(second, "run_x", limit=3)
    assert slots.in_use(first) == 3


def test_a_dead_workers_lease_expires_and_its_slot_is_reclaimed(
    slots: ConcurrencySlots, clock: Clock
) -> None:
    tenant = uuid4()
    assert slots.acquire(tenant, "run_crashed", limit=1)
    clock.now = T0 + LEASE - timedelta(seconds=1)
    assert not slots.acquire(tenant, "run_next", limit=1)
    clock.now = T0 + LEASE
    assert slots.acquire(tenant, "run_next", limit=1)
    assert set(slots.holders(tenant)) == {"run_next"}


def test_the_heartbeat_keeps_a_lease_alive(slots: ConcurrencySlots, clock: Clock) -> None:
    tenant = uuid4()
    slots.acquire(tenant, "run_long", limit=1)
    for minute in range(1, 20):
        clock.now = T0 + timedelta(minutes=minute)
        assert slots.renew(tenant, "run_long")
    assert not slots.acquire(tenant, "run_other", limit=1)
    assert not slots.renew(tenant, "run_never_held")


def test_release_is_safe_to_repeat_and_on_unknown_tenants(slots: ConcurrencySlots) -> None:
    tenant = uuid4()
    slots.release(tenant, "run_a")
    slots.acquire(tenant, "run_a", limit=1)
    slots.release(tenant, "run_a")
    slots.release(tenant, "run_a")
    assert slots.in_use(tenant) == 0

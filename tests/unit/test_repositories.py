"""Data access against moto, on tables built from the same specs the stack uses."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.pagination import InvalidCursor, encode_cursor
from outpost.data.tasks import TaskRepository, tenant_scope
from outpost.data.tenants import TenantExists, TenantNotFound, TenantRepository
from outpost.data.usage import UsageRepository
from outpost.models import (
    TIERS,
    ApiKey,
    Environment,
    Executor,
    Task,
    TaskStatus,
    Tenant,
    Tier,
    UsageKind,
    UsageRecord,
)
from tests.unit.conftest import Store

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class TestTenants:
    def test_create_get_and_find_by_email(self, store: Store) -> None:
        tenants = TenantRepository(store.client, store.tenants)
        tenant = Tenant(name="Acme", email="ops@acme.example", tier=Tier.PRO)
        tenants.create(tenant)
        assert tenants.get(tenant.tenant_id) == tenant
        assert tenants.find_by_email("ops@acme.example") == [tenant]
        assert tenants.get(uuid4()) is None

    def test_create_never_overwrites(self, store: Store) -> None:
        tenants = TenantRepository(store.client, store.tenants)
        tenant = Tenant(name="Acme", email="ops@acme.example")
        tenants.create(tenant)
        with pytest.raises(TenantExists):
            tenants.create(tenant.model_copy(update={"name": "Impostor"}))
        assert tenants.get(tenant.tenant_id) == tenant

    def test_replace_only_existing(self, store: Store) -> None:
        tenants = TenantRepository(store.client, store.tenants)
        tenant = Tenant(name="Acme", email="ops@acme.example")
        with pytest.raises(TenantNotFound):
            tenants.replace(tenant)
        tenants.create(tenant)
        tenants.replace(tenant.model_copy(update={"tier": Tier.ENTERPRISE}))
        stored = tenants.get(tenant.tenant_id)
        assert stored is not None
        assert stored.tier is Tier.ENTERPRISE


class TestApiKeys:
    def test_lookup_by_hash_and_list_for_tenant(self, store: Store) -> None:
        keys = ApiKeyRepository(store.client, store.api_keys)
        tenant_id = uuid4()
        first, _ = ApiKey.issue(tenant_id=tenant_id, name="a", environment=Environment.LIVE)
        second, _ = ApiKey.issue(tenant_id=tenant_id, name="b", environment=Environment.TEST)
        other, _ = ApiKey.issue(tenant_id=uuid4(), name="c", environment=Environment.LIVE)
        for key in (first, second, other):
            keys.create(key)
        assert keys.get(first.key_hash) == first
        assert keys.get("0" * 64) is None
        assert {k.key_id for k in keys.list_for_tenant(tenant_id)} == {first.key_id, second.key_id}

    def test_revoke_is_scoped_to_the_tenant_and_permanent(self, store: Store) -> None:
        keys = ApiKeyRepository(store.client, store.api_keys)
        owner, stranger = uuid4(), uuid4()
        key, _ = ApiKey.issue(tenant_id=owner, name="a", environment=Environment.LIVE)
        keys.create(key)
        assert keys.revoke(stranger, key.key_id, T0) is None
        assert not keys.get(key.key_hash).revoked  # type: ignore[union-attr]
        revoked = keys.revoke(owner, key.key_id, T0)
        assert revoked is not None
        assert revoked.revoked_at == T0
        again = keys.revoke(owner, key.key_id, T0 + timedelta(hours=1))
        assert again is not None
        assert again.revoked_at == T0

    def test_touch_only_moves_forward_and_never_creates(self, store: Store) -> None:
        keys = ApiKeyRepository(store.client, store.api_keys)
        key, _ = ApiKey.issue(tenant_id=uuid4(), name="a", environment=Environment.LIVE)
        keys.create(key)
        keys.touch(key.key_hash, T0)
        keys.touch(key.key_hash, T0 - timedelta(minutes=5))
        assert keys.get(key.key_hash).last_used_at == T0  # type: ignore[union-attr]
        keys.touch("f" * 64, T0)
        assert keys.get("f" * 64) is None


def submit(tenant_id: object, executor: Executor = Executor.CLAUDE, **fields: object) -> Task:
    return Task.submit(
        tenant_id=tenant_id,  # type: ignore[arg-type]
        environment=fields.pop("environment", Environment.LIVE),  # type: ignore[arg-type]
        repo="octo/repo",
        task="do it",
        executor=executor,
        limits=TIERS[Tier.PRO],
    )


class TestTasks:
    def test_task_and_runs_round_trip(self, store: Store) -> None:
        tasks = TaskRepository(store.client, store.tasks)
        tenant_id = uuid4()
        task = submit(tenant_id, Executor.ALL)
        tasks.create(task)
        assert tasks.get(tenant_id, task.task_id) == task
        assert len(task.runs) == 5

    def test_another_tenants_task_is_absent(self, store: Store) -> None:
        tasks = TaskRepository(store.client, store.tasks)
        task = submit(uuid4())
        tasks.create(task)
        assert tasks.get(uuid4(), task.task_id) is None
        assert tasks.get(task.tenant_id, "tsk_" + "0" * 24) is None

    def test_create_is_all_or_nothing(self, store: Store) -> None:
        tasks = TaskRepository(store.client, store.tasks)
        task = submit(uuid4())
        tasks.create(task)
        duplicate = task.model_copy(update={"runs": ()})
        with pytest.raises(store.client.exceptions.TransactionCanceledException):
            tasks.create(duplicate)
        # A transaction that fails on its extra write leaves no task behind.
        fresh = submit(task.tenant_id)
        failing_extra = {
            "ConditionCheck": {
                "TableName": store.tenants,
                "Key": {"tenant_id": {"S": "missing"}},
                "ConditionExpression": "attribute_exists(tenant_id)",
            }
        }
        with pytest.raises(store.client.exceptions.TransactionCanceledException):
            tasks.create(fresh, also=[failing_extra])  # type: ignore[list-item]
        assert tasks.get(fresh.tenant_id, fresh.task_id) is None

    def test_listing_is_newest_first_paginated_and_per_environment(self, store: Store) -> None:
        tasks = TaskRepository(store.client, store.tasks)
        tenant_id = uuid4()
        created = []
        for minute in range(5):
            task = submit(tenant_id).model_copy(
                update={"created_at": T0 + timedelta(minutes=minute)}
            )
            tasks.create(task)
            created.append(task.task_id)
        tasks.create(submit(tenant_id, environment=Environment.TEST))
        tasks.create(submit(uuid4()))

        first = tasks.list_for_tenant(tenant_id, Environment.LIVE, limit=3)
        assert [t.task_id for t in first.items] == created[::-1][:3]
        assert first.next_cursor is not None
        second = tasks.list_for_tenant(
            tenant_id, Environment.LIVE, limit=3, cursor=first.next_cursor
        )
        assert [t.task_id for t in second.items] == created[::-1][3:]
        test_page = tasks.list_for_tenant(tenant_id, Environment.TEST)
        assert len(test_page.items) == 1
        assert all(not t.runs for t in first.items)

    def test_status_filter(self, store: Store) -> None:
        tasks = TaskRepository(store.client, store.tasks)
        tenant_id = uuid4()
        tasks.create(submit(tenant_id))
        assert (
            tasks.list_for_tenant(tenant_id, Environment.LIVE, status=TaskStatus.FAILED).items == []
        )
        queued = tasks.list_for_tenant(tenant_id, Environment.LIVE, status=TaskStatus.QUEUED)
        assert len(queued.items) == 1

    def test_cursor_into_another_tenants_listing_is_refused(self, store: Store) -> None:
        tasks = TaskRepository(store.client, store.tasks)
        victim, attacker = uuid4(), uuid4()
        forged = encode_cursor(
            {
                "tenant_scope": {"S": tenant_scope(victim, Environment.LIVE)},
                "created_at": {"S": "2099-01-01T00:00:00.000000Z"},
                "task_id": {"S": "tsk_" + "0" * 24},
                "sk": {"S": "task"},
            }
        )
        assert forged is not None
        with pytest.raises(InvalidCursor):
            tasks.list_for_tenant(attacker, Environment.LIVE, cursor=forged)
        with pytest.raises(InvalidCursor):
            tasks.list_for_tenant(attacker, Environment.LIVE, cursor="%%%not-base64")


def test_usage_events_by_month_and_environment(store: Store) -> None:
    usage = UsageRepository(store.client, store.usage)
    tenant_id = uuid4()
    task_id = submit(tenant_id).task_id

    def event(at: datetime, environment: Environment = Environment.LIVE) -> UsageRecord:
        return UsageRecord(
            tenant_id=tenant_id,
            environment=environment,
            kind=UsageKind.SUBMISSION,
            task_id=task_id,
            occurred_at=at,
        )

    same_instant = [event(T0), event(T0)]
    for record in [*same_instant, event(T0 + timedelta(days=10)), event(T0, Environment.TEST)]:
        usage.record(record)
    november = usage.events(tenant_id, Environment.LIVE, "2026-11")
    assert len(november) == 2  # two events at the same microsecond are both kept
    assert len(usage.events(tenant_id, Environment.LIVE, "2026-12")) == 1
    assert len(usage.events(tenant_id, Environment.TEST, "2026-11")) == 1

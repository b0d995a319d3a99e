"""The first admin key: idempotent, live only, never another tenant's or a revoked key."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.tenants import TenantRepository
from outpost.errors import Conflict, InvalidRequest
from outpost.models import ApiKey, Environment, Scope
from outpost.models.api_key import generate_api_key, hash_api_key
from outpost.services.bootstrap import OPERATOR_TENANT_ID, ensure_admin_key
from tests.unit.conftest import Store


@pytest.fixture
def repos(store: Store) -> tuple[TenantRepository, ApiKeyRepository]:
    return TenantRepository(store.client, store.tenants), ApiKeyRepository(
        store.client, store.api_keys
    )


def test_generates_a_live_admin_key_for_the_operators(
    repos: tuple[TenantRepository, ApiKeyRepository],
) -> None:
    tenants, keys = repos
    admin = ensure_admin_key(tenants, keys)
    assert admin.created
    assert admin.plaintext.startswith("op_live_")
    stored = keys.get(hash_api_key(admin.plaintext))
    assert stored is not None
    assert stored.tenant_id == OPERATOR_TENANT_ID
    assert Scope.ADMIN in stored.scopes
    assert tenants.get(OPERATOR_TENANT_ID) is not None


def test_a_given_key_is_installed_once(repos: tuple[TenantRepository, ApiKeyRepository]) -> None:
    tenants, keys = repos
    chosen = generate_api_key(Environment.LIVE)
    assert ensure_admin_key(tenants, keys, chosen).created
    again = ensure_admin_key(tenants, keys, chosen)
    assert not again.created
    assert len(keys.list_for_tenant(OPERATOR_TENANT_ID)) == 1


@pytest.mark.parametrize("bad", ["op_live_short", generate_api_key(Environment.TEST)])
def test_malformed_or_test_keys_are_refused(
    repos: tuple[TenantRepository, ApiKeyRepository], bad: str
) -> None:
    with pytest.raises(InvalidRequest):
        ensure_admin_key(*repos, bad)


def test_revoked_or_foreign_keys_are_refused(
    repos: tuple[TenantRepository, ApiKeyRepository],
) -> None:
    tenants, keys = repos
    chosen = generate_api_key(Environment.LIVE)
    ensure_admin_key(tenants, keys, chosen)
    record = keys.get(hash_api_key(chosen))
    assert record is not None
    keys.revoke(OPERATOR_TENANT_ID, record.key_id, datetime.now(UTC))
    with pytest.raises(Conflict):
        ensure_admin_key(tenants, keys, chosen)
    tenant_key, plaintext = ApiKey.issue(tenant_id=uuid4(), name="t", environment=Environment.LIVE)
    keys.create(tenant_key)
    with pytest.raises(Conflict):
        ensure_admin_key(tenants, keys, plaintext)

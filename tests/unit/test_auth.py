"""Authentication decisions: format first, hash lookup, revocation, tenant status, caching."""

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.tenants import TenantRepository
from outpost.models import ApiKey, Environment, Scope, Tenant, TenantStatus, Tier
from outpost.models.api_key import parse_environment
from outpost.services.auth import (
    AUTHORIZATION_PATTERN,
    Authenticator,
    DecisionCache,
    Denial,
    DenyReason,
    Principal,
    bearer_token,
)
from tests.unit.conftest import Store

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


class CountingKeys(ApiKeyRepository):
    """The real repository, counting lookups so tests can see what the cache saves."""

    lookups = 0

    def get(self, key_hash: str) -> ApiKey | None:
        self.lookups += 1
        return super().get(key_hash)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(store: Store) -> CountingKeys:
    return CountingKeys(store.client, store.api_keys)


@pytest.fixture
def tenants(store: Store) -> TenantRepository:
    return TenantRepository(store.client, store.tenants)


@pytest.fixture
def authenticator(keys: CountingKeys, tenants: TenantRepository, clock: Clock) -> Authenticator:
    cache = DecisionCache(max_entries=100, allow_seconds=30, deny_seconds=60, clock=clock)
    return Authenticator(keys, tenants, cache, now=lambda: T0)


def onboard(
    keys: ApiKeyRepository, tenants: TenantRepository, environment: Environment = Environment.LIVE
) -> tuple[Tenant, ApiKey, str]:
    tenant = Tenant(name="Acme", email="ops@acme.example", tier=Tier.PRO)
    tenants.create(tenant)
    key, plaintext = ApiKey.issue(tenant_id=tenant.tenant_id, name="ci", environment=environment)
    keys.create(key)
    return tenant, key, plaintext


def test_valid_key_yields_its_tenant_as_principal(
    authenticator: Authenticator, keys: CountingKeys, tenants: TenantRepository
) -> None:
    tenant, key, plaintext = onboard(keys, tenants, Environment.TEST)
    decision = authenticator.authenticate(f"Bearer {plaintext}")
    assert decision == Principal(
        tenant_id=tenant.tenant_id,
        tier=Tier.PRO,
        environment=Environment.TEST,
        key_id=key.key_id,
        key_prefix=key.prefix,
        scopes=key.scopes,
    )
    assert plaintext not in str(decision.to_context())  # type: ignore[union-attr]
    assert Principal.from_context(decision.to_context()) == decision  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, DenyReason.MISSING),
        ("", DenyReason.MISSING),
        ("Bearer", DenyReason.MISSING),
        ("Basic dXNlcjpwYXNz", DenyReason.MISSING),
        ("Bearer sk_live_123", DenyReason.MALFORMED),
        ("Bearer op_live_" + "Z" * 32, DenyReason.MALFORMED),
        ("Bearer op_live_" + "a" * 32, DenyReason.UNKNOWN),
    ],
)
def test_denials(
    authenticator: Authenticator, keys: CountingKeys, header: str | None, reason: DenyReason
) -> None:
    decision = authenticator.authenticate(header)
    assert isinstance(decision, Denial)
    assert decision.reason is reason


def test_malformed_keys_never_reach_the_table(
    authenticator: Authenticator, keys: CountingKeys
) -> None:
    for _ in range(100):
        authenticator.authenticate("Bearer op_live_short")
    assert keys.lookups == 0


def test_unknown_keys_are_looked_up_once_then_denied_from_cache(
    authenticator: Authenticator, keys: CountingKeys
) -> None:
    for _ in range(100):
        authenticator.authenticate("Bearer op_test_" + "b" * 32)
    assert keys.lookups == 1


def test_revoked_key_is_denied_once_its_cached_allow_expires(
    authenticator: Authenticator, keys: CountingKeys, tenants: TenantRepository, clock: Clock
) -> None:
    tenant, key, plaintext = onboard(keys, tenants)
    assert isinstance(authenticator.authenticate(f"Bearer {plaintext}"), Principal)
    keys.revoke(tenant.tenant_id, key.key_id, T0)
    clock.seconds = 29.9
    assert isinstance(authenticator.authenticate(f"Bearer {plaintext}"), Principal)
    clock.seconds = 30.0  # the in-memory allow lifetime bounds the delay
    decision = authenticator.authenticate(f"Bearer {plaintext}")
    assert decision == Denial(DenyReason.REVOKED, key_prefix=key.prefix, tenant_id=tenant.tenant_id)


@pytest.mark.parametrize("status", [TenantStatus.SUSPENDED, TenantStatus.DELETED])
def test_keys_of_inactive_tenants_are_denied(
    authenticator: Authenticator,
    keys: CountingKeys,
    tenants: TenantRepository,
    status: TenantStatus,
) -> None:
    tenant, _, plaintext = onboard(keys, tenants)
    tenants.replace(tenant.model_copy(update={"status": status}))
    decision = authenticator.authenticate(f"Bearer {plaintext}")
    assert isinstance(decision, Denial)
    assert decision.reason is DenyReason.TENANT_INACTIVE


def test_last_used_is_written_at_most_once_per_granularity(
    keys: CountingKeys, tenants: TenantRepository
) -> None:
    _, key, plaintext = onboard(keys, tenants)
    moments = iter([T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=6)])
    no_cache = DecisionCache(max_entries=10, allow_seconds=0, deny_seconds=0)
    authenticator = Authenticator(keys, tenants, no_cache, now=lambda: next(moments))
    authenticator.authenticate(f"Bearer {plaintext}")
    assert keys.get(key.key_hash).last_used_at == T0  # type: ignore[union-attr]
    authenticator.authenticate(f"Bearer {plaintext}")
    assert keys.get(key.key_hash).last_used_at == T0  # type: ignore[union-attr]
    authenticator.authenticate(f"Bearer {plaintext}")
    assert keys.get(key.key_hash).last_used_at == T0 + timedelta(minutes=6)  # type: ignore[union-attr]


def test_cache_is_bounded_and_least_recently_used_goes_first(clock: Clock) -> None:
    cache = DecisionCache(max_entries=2, allow_seconds=10, deny_seconds=10, clock=clock)
    deny = Denial(DenyReason.UNKNOWN)
    cache.put("a", deny)
    cache.put("b", deny)
    cache.get("a")
    cache.put("c", deny)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") == deny


def test_principal_scopes() -> None:
    principal = Principal(
        tenant_id=uuid4(),
        tier=Tier.FREE,
        environment=Environment.LIVE,
        key_id="key_x",
        key_prefix="op_live_abcdef",
        scopes=frozenset({Scope.TASKS_READ}),
    )
    assert principal.has(Scope.TASKS_READ)
    assert not principal.has(Scope.TASKS_WRITE)
    admin = Principal(**{**principal.__dict__, "scopes": frozenset({Scope.ADMIN})})
    assert admin.has(Scope.TASKS_WRITE)


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("BEARER abc", "abc"), ("Token abc", None)],
)
def test_bearer_token(header: str, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("header", "well_formed"),
    [
        ("Bearer op_live_" + "a" * 32, True),
        ("bearer op_test_" + "0" * 32, True),
        ("Bearer op_live_" + "A" * 32, False),
        ("Bearer  op_live_" + "a" * 32, False),
        ("op_live_" + "a" * 32, False),
        ("Bearer op_live_" + "a" * 32 + " ", False),
    ],
)
def test_authorization_pattern_agrees_with_the_authenticator(
    header: str, well_formed: bool
) -> None:
    """API Gateway's pre-check must never refuse what the function would accept."""
    assert bool(re.match(AUTHORIZATION_PATTERN, header)) is well_formed
    token = bearer_token(header)
    if well_formed:
        assert token is not None
        parse_environment(token)

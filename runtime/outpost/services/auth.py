"""Authentication of API keys: from an Authorization header to a principal or a denial.

The format is checked before any lookup; a well-formed key is looked up by its SHA-256, then
its revocation and its tenant's status are checked. Decisions are cached in memory for a
short time (bounded size), denials included, so a flood of bad keys does not reach the table.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.tenants import TenantRepository
from outpost.errors import PermissionDenied
from outpost.models.api_key import (
    InvalidApiKeyFormat,
    Scope,
    display_prefix,
    hash_api_key,
    parse_environment,
)
from outpost.models.audit import RequestMetadata
from outpost.models.common import Environment, utc_now
from outpost.models.tier import Tier

# The header shape API Gateway checks before it invokes the authorizer at all (a TOKEN
# authorizer's validation expression; local mode applies the same): floods of malformed tokens
# never reach the function. The scheme is case-insensitive, as RFC 6750 has it.
AUTHORIZATION_PATTERN = r"^[Bb][Ee][Aa][Rr][Ee][Rr] op_(live|test)_[0-9a-f]{32}$"

# last_used_at is written at most this often per key, and only on a cache miss.
LAST_USED_GRANULARITY = timedelta(minutes=5)


class DenyReason(StrEnum):
    MISSING = "missing_credentials"
    MALFORMED = "malformed_key"
    UNKNOWN = "unknown_key"
    REVOKED = "revoked_key"
    TENANT_INACTIVE = "tenant_inactive"


@dataclass(frozen=True)
class Principal:
    """Who is calling: what the authorizer hands to every handler (never the key itself)."""

    tenant_id: UUID
    tier: Tier
    environment: Environment
    key_id: str
    key_prefix: str
    scopes: frozenset[Scope]

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes

    def to_context(self) -> dict[str, str]:
        """API Gateway authorizer context: flat string values only."""
        return {
            "tenant_id": str(self.tenant_id),
            "tier": self.tier.value,
            "environment": self.environment.value,
            "key_id": self.key_id,
            "key_prefix": self.key_prefix,
            "scopes": " ".join(sorted(self.scopes)),
        }

    @classmethod
    def from_context(cls, context: Mapping[str, object]) -> Principal:
        return cls(
            tenant_id=UUID(str(context["tenant_id"])),
            tier=Tier(str(context["tier"])),
            environment=Environment(str(context["environment"])),
            key_id=str(context["key_id"]),
            key_prefix=str(context["key_prefix"]),
            scopes=frozenset(Scope(s) for s in str(context["scopes"]).split()),
        )


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of a request, with what the audit trail records of it."""

    principal: Principal
    request_id: str
    metadata: RequestMetadata


def require_scope(caller: Caller, scope: Scope) -> None:
    """Refuse (403) a caller whose key lacks the scope; admin keys hold every scope."""
    if not caller.principal.has(scope):
        raise PermissionDenied(f"this key lacks the {scope.value} scope")


@dataclass(frozen=True)
class Denial:
    reason: DenyReason
    key_prefix: str | None = None
    tenant_id: UUID | None = None


Decision = Principal | Denial


class DecisionCache:
    """An LRU of decisions by key hash, with separate lifetimes for allows and denials."""

    def __init__(
        self,
        *,
        max_entries: int,
        allow_seconds: float,
        deny_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, Decision]] = OrderedDict()
        self._max_entries = max_entries
        self._allow_seconds = allow_seconds
        self._deny_seconds = deny_seconds
        self._clock = clock

    def get(self, key_hash: str) -> Decision | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, decision = entry
        if self._clock() >= expires:
            del self._entries[key_hash]
            return None
        self._entries.move_to_end(key_hash)
        return decision

    def put(self, key_hash: str, decision: Decision) -> None:
        lifetime = self._allow_seconds if isinstance(decision, Principal) else self._deny_seconds
        if lifetime <= 0:
            return
        self._entries[key_hash] = (self._clock() + lifetime, decision)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def bearer_token(authorization: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer …`` header (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    def __init__(
        self,
        keys: ApiKeyRepository,
        tenants: TenantRepository,
        cache: DecisionCache,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._keys = keys
        self._tenants = tenants
        self._cache = cache
        self._now = now

    def clear_cache(self) -> None:
        self._cache.clear()

    def authenticate(self, authorization: str | None) -> Decision:
        token = bearer_token(authorization)
        if token is None:
            return Denial(DenyReason.MISSING)
        try:
            parse_environment(token)
        except InvalidApiKeyFormat:
            return Denial(DenyReason.MALFORMED)  # nothing of a malformed token is kept
        key_hash = hash_api_key(token)
        cached = self._cache.get(key_hash)
        if cached is not None:
            return cached
        decision = self._decide(key_hash, display_prefix(token))
        self._cache.put(key_hash, decision)
        return decision

    def _decide(self, key_hash: str, prefix: str) -> Decision:
        key = self._keys.get(key_hash)
        if key is None:
            return Denial(DenyReason.UNKNOWN, key_prefix=prefix)
        if key.revoked:
            return Denial(DenyReason.REVOKED, key_prefix=prefix, tenant_id=key.tenant_id)
        tenant = self._tenants.get(key.tenant_id)
        if tenant is None or not tenant.is_active:
            return Denial(DenyReason.TENANT_INACTIVE, key_prefix=prefix, tenant_id=key.tenant_id)
        now = self._now()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
            self._keys.touch(key_hash, now)
        return Principal(
            tenant_id=tenant.tenant_id,
            tier=tenant.tier,
            environment=key.environment,
            key_id=key.key_id,
            key_prefix=key.prefix,
            scopes=key.scopes,
        )

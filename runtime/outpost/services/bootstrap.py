"""The first admin key of a deployment: an operator tenant and an admin-scoped key for it.

Idempotent: running it again with the same key changes nothing. With no key given it makes
one, and the caller shows it exactly once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from uuid import UUID, uuid5

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.tenants import TenantExists, TenantRepository
from outpost.errors import Conflict, InvalidRequest
from outpost.models.api_key import (
    ApiKey,
    InvalidApiKeyFormat,
    Scope,
    display_prefix,
    generate_api_key,
    hash_api_key,
    parse_environment,
)
from outpost.models.common import Environment
from outpost.models.tenant import Tenant
from outpost.models.tier import Tier

# A fixed id, so every bootstrap of a deployment finds the same operator tenant.
OPERATOR_TENANT_ID: UUID = uuid5(UUID("6f1c2b0e-8a5d-4c1e-9b7a-0d2f3e4a5b6c"), "outpost-operators")
ADMIN_SCOPES = frozenset(Scope)


@dataclass(frozen=True)
class AdminKey:
    record: ApiKey
    plaintext: str
    created: bool


def check_admin_key(admin_key: str | None) -> None:
    """Refuse a chosen admin key that is malformed or not a live key, before anything starts."""
    if admin_key is None:
        return
    try:
        environment = parse_environment(admin_key)
    except InvalidApiKeyFormat as error:
        raise InvalidRequest(f"the admin key is malformed: {error}") from None
    if environment is not Environment.LIVE:
        raise InvalidRequest("the admin key must be an op_live_ key")


def ensure_admin_key(
    tenants: TenantRepository, keys: ApiKeyRepository, admin_key: str | None = None
) -> AdminKey:
    check_admin_key(admin_key)
    with contextlib.suppress(TenantExists):
        tenants.create(
            Tenant(
                tenant_id=OPERATOR_TENANT_ID,
                name="Outpost operators",
                email="operators@outpost.example",
                tier=Tier.ENTERPRISE,
            )
        )
    plaintext = admin_key or generate_api_key(Environment.LIVE)
    existing = keys.get(hash_api_key(plaintext))
    if existing is not None:
        if existing.tenant_id != OPERATOR_TENANT_ID or Scope.ADMIN not in existing.scopes:
            raise Conflict("that key exists and is not the operators' admin key")
        if existing.revoked:
            raise Conflict("that admin key was revoked; revocation is permanent")
        return AdminKey(existing, plaintext, created=False)
    record = ApiKey(
        key_hash=hash_api_key(plaintext),
        tenant_id=OPERATOR_TENANT_ID,
        name="bootstrap admin",
        prefix=display_prefix(plaintext),
        environment=Environment.LIVE,
        scopes=ADMIN_SCOPES,
    )
    keys.create(record)
    return AdminKey(record, plaintext, created=True)

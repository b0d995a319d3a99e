"""API keys: Stripe-like bearer secrets of which only the SHA-256 is ever stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from outpost.models.common import (
    DomainModel,
    Environment,
    UtcDatetime,
    prefixed_id,
    prefixed_id_pattern,
    utc_now,
)

API_KEY_PATTERN = re.compile(r"^op_(live|test)_[0-9a-f]{32}$")
DISPLAY_PREFIX_LENGTH = len("op_live_") + 6
KEY_ID_PREFIX = "key"

KeyHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
KeyId = Annotated[str, StringConstraints(pattern=prefixed_id_pattern(KEY_ID_PREFIX))]
DisplayPrefix = Annotated[str, StringConstraints(pattern=r"^op_(live|test)_[0-9a-f]{6}$")]
KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Scope(StrEnum):
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    SECRETS_WRITE = "secrets:write"
    USAGE_READ = "usage:read"
    AUDIT_READ = "audit:read"
    # Operator scope: manage any tenant and its keys.
    ADMIN = "admin"


TENANT_SCOPES = frozenset(Scope) - {Scope.ADMIN}


class InvalidApiKeyFormat(ValueError):
    """The presented string cannot be an Outpost API key; no lookup is needed to know."""


def parse_environment(api_key: str) -> Environment:
    """Check a presented key's format before any lookup and say which environment it is for."""
    match = API_KEY_PATTERN.fullmatch(api_key)
    if match is None:
        raise InvalidApiKeyFormat("API key must look like op_live_… or op_test_… (32 hex digits)")
    return Environment(match.group(1))


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("ascii")).hexdigest()


def display_prefix(api_key: str) -> str:
    return api_key[:DISPLAY_PREFIX_LENGTH]


def generate_api_key(environment: Environment) -> str:
    """A new key: 128 bits from the OS CSPRNG. Shown to its owner once, then only hashed."""
    return f"op_{environment.value}_{secrets.token_hex(16)}"


def new_key_id() -> str:
    return prefixed_id(KEY_ID_PREFIX)


class ApiKey(DomainModel):
    key_hash: KeyHash
    key_id: KeyId = Field(default_factory=new_key_id)
    tenant_id: UUID
    name: KeyName
    prefix: DisplayPrefix = Field(description="First characters of the key, safe to display.")
    environment: Environment
    scopes: frozenset[Scope] = TENANT_SCOPES
    created_at: UtcDatetime = Field(default_factory=utc_now)
    last_used_at: UtcDatetime | None = None
    revoked_at: UtcDatetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def issue(
        cls,
        *,
        tenant_id: UUID,
        name: str,
        environment: Environment,
        scopes: frozenset[Scope] = TENANT_SCOPES,
    ) -> tuple[ApiKey, str]:
        """Make a key record and its plaintext; the caller shows the plaintext exactly once."""
        plaintext = generate_api_key(environment)
        record = cls(
            key_hash=hash_api_key(plaintext),
            tenant_id=tenant_id,
            name=name,
            prefix=display_prefix(plaintext),
            environment=environment,
            scopes=scopes,
        )
        return record, plaintext

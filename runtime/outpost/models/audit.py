"""Audit entries: who did what to which resource, when, from where — immutable once written."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, IPvAnyAddress, StringConstraints

from outpost.models.common import DomainModel, UtcDatetime, utc_now

AuditAction = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)
]
DetailValue = str | int | bool | None

# The partition for entries no tenant can be named for (say, a denied unknown key): admins only.
UNATTRIBUTED = UUID(int=0)


class RequestMetadata(DomainModel):
    source_ip: IPvAnyAddress | None = None
    user_agent: Annotated[str, StringConstraints(max_length=512)] | None = None
    key_prefix: str | None = Field(default=None, description="Display prefix of the key used.")


class AuditEntry(DomainModel):
    tenant_id: UUID
    timestamp: UtcDatetime = Field(default_factory=utc_now)
    action: AuditAction = Field(examples=["task_submitted", "auth.denied", "api_key.revoked"])
    resource: Annotated[str, StringConstraints(max_length=256)]
    request_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    metadata: RequestMetadata = RequestMetadata()
    details: dict[str, DetailValue] = Field(
        default_factory=dict, description="Action-specific facts; never secrets or full keys."
    )

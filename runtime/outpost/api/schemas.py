"""Response bodies of the API as models: handlers shape their answers with these, and the
OpenAPI document is generated from them, so the two cannot disagree."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from outpost.models.api_key import ApiKey
from outpost.models.audit import AuditEntry


class ErrorDetail(BaseModel):
    type: str = Field(examples=["not_found"], description="Machine-readable error type.")
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class HealthResponse(BaseModel):
    status: Literal["ok", "unavailable"]


class ApiKeyView(BaseModel):
    """A key's metadata: never the key itself after creation, nor its hash."""

    model_config = ConfigDict(extra="forbid")

    key_id: str
    tenant_id: str
    name: str
    prefix: str
    environment: str
    scopes: list[str]
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyView:
        return cls.model_validate(key.model_dump(mode="json", exclude={"key_hash"}))


class CreatedApiKey(ApiKeyView):
    key: str = Field(description="The full key. Shown in this response only, never again.")


class ApiKeyList(BaseModel):
    data: list[ApiKeyView]


class AuditPage(BaseModel):
    data: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page.")

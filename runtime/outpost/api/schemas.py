"""Response bodies of the API as models: handlers shape their answers with these, and the
OpenAPI document is generated from them, so the two cannot disagree."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from outpost.models.api_key import ApiKey
from outpost.models.audit import AuditEntry
from outpost.models.secret import SecretMetadata
from outpost.models.tenant import Tenant


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


class SubmittedTask(BaseModel):
    task_id: str
    status: str
    estimated_wait: str = Field(examples=["30s"], description="From queue depth and run times.")


class RunView(BaseModel):
    run_id: str
    executor: str
    status: str
    started_at: str | None
    completed_at: str | None
    exit_code: int | None
    changes: str | None
    branch: str | None
    output_url: str | None
    error: str | None


class TaskView(BaseModel):
    """A task; for a single-executor task the top-level run fields are its run's."""

    task_id: str
    status: str
    executor: str
    repo: str
    ref: str | None
    context: str
    created_at: str
    started_at: str | None
    completed_at: str | None
    output_url: str | None
    changes: str | None
    branch: str | None = Field(description="Where the changes were pushed, if any.")
    exit_code: int | None
    error: str | None
    cancel_requested: bool
    runs: list[RunView]


class TaskSummary(BaseModel):
    task_id: str
    status: str
    executor: str
    repo: str
    created_at: str


class TaskPage(BaseModel):
    data: list[TaskSummary]
    next_cursor: str | None


class DailyUsage(BaseModel):
    requests: int
    limit: int | None = Field(description="None: unlimited.")


class Concurrency(BaseModel):
    in_use: int
    limit: int


class UsageView(BaseModel):
    period: str = Field(examples=["2026-11"])
    requests: int = Field(description="Task submissions this month (this key's environment).")
    quota: int | None = Field(description="The tier's daily submission limit; None: unlimited.")
    tier: str
    today: DailyUsage | None = Field(description="This month only; null for a past month.")
    concurrency: Concurrency | None = Field(description="This month only; null for a past month.")


class TenantPage(BaseModel):
    data: list[Tenant]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class SecretList(BaseModel):
    data: list[SecretMetadata] = Field(description="Names, dates and masked hints; no values.")


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: Literal["pro", "enterprise"] = Field(description="The tier to subscribe to.")


class SessionLink(BaseModel):
    url: str = Field(description="Where to send the customer (a Stripe-hosted page).")


class WebhookAnswer(BaseModel):
    received: bool = True
    outcome: str = Field(examples=["applied", "duplicate", "ignored", "stale"])

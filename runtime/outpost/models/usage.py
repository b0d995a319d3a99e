"""Usage records: what a tenant consumed, enough to bill from and to reconcile with audit."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import Field

from outpost.models.common import DomainModel, Environment, UtcDatetime, utc_now
from outpost.models.task import RunId, TaskId, TaskStatus
from outpost.models.tier import Agent


class UsageKind(StrEnum):
    SUBMISSION = "submission"
    RUN = "run"


class UsageRecord(DomainModel):
    tenant_id: UUID
    environment: Environment
    kind: UsageKind
    task_id: TaskId
    run_id: RunId | None = None
    executor: Agent | None = None
    occurred_at: UtcDatetime = Field(default_factory=utc_now)
    duration_ms: Annotated[int, Field(ge=0)] | None = None
    exit_code: int | None = None
    outcome: TaskStatus | None = None

    @property
    def period(self) -> str:
        """The billing month, ``YYYY-MM`` in UTC."""
        return self.occurred_at.strftime("%Y-%m")

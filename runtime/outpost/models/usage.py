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


class MonthlyUsage(DomainModel):
    """A tenant's month in one environment, rolled up from its usage events, with what the
    audit trail says of the same month beside it."""

    tenant_id: UUID
    environment: Environment
    period: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    submissions: Annotated[int, Field(ge=0)]
    runs: Annotated[int, Field(ge=0)]
    run_seconds: Annotated[int, Field(ge=0)]
    audited_submissions: Annotated[int, Field(ge=0)]
    audited_runs: Annotated[int, Field(ge=0)]
    reconciled_at: UtcDatetime = Field(default_factory=utc_now)

    @property
    def mismatched(self) -> bool:
        return (self.submissions, self.runs) != (self.audited_submissions, self.audited_runs)

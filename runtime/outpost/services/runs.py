"""How a run ends, the same way whoever ends it: the worker that ran it, or the dead-letter
handler when every attempt failed. The run's final state is written first (conditioned on
the lease, so a run ends once), then the task's status is derived from its runs', the slot
is released, and the end is audited and metered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from outpost.data.tasks import TaskRepository
from outpost.data.usage import UsageRepository
from outpost.models.audit import AuditEntry
from outpost.models.common import utc_now
from outpost.models.task import Run, Task, TaskStatus
from outpost.models.usage import UsageKind, UsageRecord
from outpost.services.audit import AuditService
from outpost.services.slots import ConcurrencySlots

# A run is tried at most this many times (SQS's receive limit says the same for messages; this
# bounds the runs a lost lease brings back, which no receive count sees).
MAX_ATTEMPTS = 3

END_ACTIONS = {
    TaskStatus.COMPLETED: "task_completed",
    TaskStatus.FAILED: "task_failed",
    TaskStatus.CANCELLED: "task_cancelled",
}


class RunOutcomes:
    def __init__(
        self,
        *,
        tasks: TaskRepository,
        usage: UsageRepository,
        slots: ConcurrencySlots,
        audit: AuditService,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._tasks = tasks
        self._usage = usage
        self._slots = slots
        self._audit = audit
        self._now = now

    def started(self, run: Run, request_id: str) -> None:
        """The run's agent is about to start: its task shows as processing."""
        self._tasks.refresh_status(run.task_id, run.tenant_id, self._now())
        self._record(run, "task_started", request_id, attempt=run.attempts)

    def finish(self, run: Run, owner: str | None, request_id: str) -> Task | None:
        """End the run (``run`` carries its final fields); None if it had already ended or
        its lease was lost, in which case nothing else is written."""
        now = self._now()
        ended = run.model_copy(update={"completed_at": run.completed_at or now})
        if not self._tasks.finish_run(ended, owner):
            return None
        self._slots.release(run.tenant_id, run.run_id)
        task = self._tasks.refresh_status(run.task_id, run.tenant_id, now)
        self._record(
            ended,
            END_ACTIONS[ended.status],
            request_id,
            exit_code=ended.exit_code,
            changes=ended.changes.value if ended.changes else None,
            error=ended.error,
            environment=task.environment.value if task else None,
        )
        if task is not None:
            started = ended.started_at or now
            self._usage.record(
                UsageRecord(
                    tenant_id=run.tenant_id,
                    environment=task.environment,
                    kind=UsageKind.RUN,
                    task_id=run.task_id,
                    run_id=run.run_id,
                    executor=run.executor,
                    occurred_at=now,
                    duration_ms=max(0, int((now - started).total_seconds() * 1000)),
                    exit_code=ended.exit_code,
                    outcome=ended.status,
                )
            )
        return task

    def _record(self, run: Run, action: str, request_id: str, **details: str | int | None) -> None:
        self._audit.record(
            AuditEntry(
                tenant_id=run.tenant_id,
                action=action,
                resource=f"tasks/{run.task_id}/runs/{run.run_id}",
                request_id=request_id,
                details={"executor": run.executor.value, **details},
            )
        )

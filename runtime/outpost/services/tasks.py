"""Submitting, reading, listing and cancelling tasks, and reporting usage.

A submission checks the tier allows the executor, then writes the task, its runs, one unit of
the daily quota and a usage event in one DynamoDB transaction; only then are the runs' queue
messages sent. A refused submission takes no quota; a crash between the write and the send
leaves runs marked pending, which the sweeper re-sends. A key sees its own environment's tasks
only: a test key never sees live tasks, nor another tenant's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from outpost import metrics
from outpost.api.schemas import (
    Concurrency,
    DailyUsage,
    RunView,
    SubmittedTask,
    TaskSummary,
    TaskView,
    UsageView,
)
from outpost.data.pagination import InvalidCursor, Page
from outpost.data.tasks import TaskRepository
from outpost.data.usage import UsageRepository
from outpost.errors import (
    Conflict,
    ExecutorNotAllowed,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
)
from outpost.models.api_key import Scope
from outpost.models.audit import AuditEntry
from outpost.models.common import format_timestamp, utc_now
from outpost.models.task import (
    ContextLevel,
    Executor,
    GitRef,
    RepoName,
    Run,
    Task,
    TaskStatus,
    TaskText,
    aggregate_status,
)
from outpost.models.tier import TIERS, Agent
from outpost.models.usage import UsageKind, UsageRecord
from outpost.services.audit import AuditService
from outpost.services.auth import Caller, require_scope
from outpost.services.dispatch import TaskDispatcher
from outpost.services.quota import DailyQuota, seconds_until_reset
from outpost.services.slots import ConcurrencySlots

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Until a tenant has run history, a run is assumed to take this long.
DEFAULT_RUN_SECONDS = 120
RECENT_RUNS = 20


class SubmitTask(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: RepoName
    task: TaskText
    executor: Executor
    context: ContextLevel = ContextLevel.STANDARD
    ref: GitRef | None = None


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    period: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = Field(
        default=None, description="A past month, YYYY-MM; this month when absent."
    )


class TaskListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: TaskStatus | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: str | None = None


def _time(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment else None


# Turns an artifact's S3 key into a link the caller can fetch (a presigned GET).
ArtifactLink = Callable[[str], str]


def run_view(run: Run, link: ArtifactLink | None = None) -> RunView:
    return RunView(
        run_id=run.run_id,
        executor=run.executor.value,
        status=run.status.value,
        started_at=_time(run.started_at),
        completed_at=_time(run.completed_at),
        exit_code=run.exit_code,
        changes=run.changes.value if run.changes else None,
        branch=run.branch,
        output_url=link(run.output_prefix + "output.log")
        if link is not None and run.output_prefix
        else None,
        error=run.error,
    )


def task_view(task: Task, link: ArtifactLink | None = None) -> TaskView:
    runs = [run_view(run, link) for run in task.runs]
    single = runs[0] if len(runs) == 1 else None
    return TaskView(
        task_id=task.task_id,
        status=task.status.value,
        executor=task.executor.value,
        repo=task.repo,
        ref=task.ref,
        context=task.context.value,
        created_at=format_timestamp(task.created_at),
        started_at=single.started_at if single else _time(task.started_at),
        completed_at=single.completed_at if single else _time(task.completed_at),
        output_url=single.output_url if single else None,
        changes=single.changes if single else None,
        branch=single.branch if single else None,
        exit_code=single.exit_code if single else None,
        error=single.error if single else None,
        cancel_requested=task.cancel_requested,
        runs=runs,
    )


# Waits are shown in seconds up to this many, in minutes beyond.
SECONDS_SHOWN_UP_TO = 120


def format_wait(seconds: float) -> str:
    whole = max(0, math.ceil(seconds))
    return f"{whole}s" if whole < SECONDS_SHOWN_UP_TO else f"{math.ceil(whole / 60)}m"


class TaskService:
    def __init__(
        self,
        *,
        client: DynamoDBClient,
        tasks: TaskRepository,
        usage: UsageRepository,
        quota: DailyQuota,
        slots: ConcurrencySlots,
        dispatcher: TaskDispatcher,
        audit: AuditService,
        artifact_link: ArtifactLink | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._link = artifact_link
        self._tasks = tasks
        self._usage = usage
        self._quota = quota
        self._slots = slots
        self._dispatcher = dispatcher
        self._audit = audit
        self._now = now

    def submit(self, caller: Caller, request: SubmitTask) -> SubmittedTask:
        principal = caller.principal
        require_scope(caller, Scope.TASKS_WRITE)
        limits = TIERS[principal.tier]
        if request.executor is not Executor.ALL and not limits.allows(
            Agent(request.executor.value)
        ):
            allowed = ", ".join(sorted(agent.value for agent in limits.agents))
            raise ExecutorNotAllowed(
                f"the {principal.tier.value} tier runs {allowed}; not {request.executor.value}"
            )
        now = self._now()
        task = Task.submit(
            tenant_id=principal.tenant_id,
            environment=principal.environment,
            repo=request.repo,
            task=request.task,
            executor=request.executor,
            context=request.context,
            ref=request.ref,
            limits=limits,
        ).model_copy(update={"created_at": now, "updated_at": now})
        event = UsageRecord(
            tenant_id=task.tenant_id,
            environment=task.environment,
            kind=UsageKind.SUBMISSION,
            task_id=task.task_id,
            occurred_at=now,
        )
        try:
            self._tasks.create(
                task,
                also=[
                    self._quota.take(task.tenant_id, task.environment, limits, now),
                    self._usage.record_item(event),
                ],
            )
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            quota_reason = reasons[len(task.runs) + 1] if len(reasons) > len(task.runs) + 1 else {}
            if quota_reason.get("Code") == "ConditionalCheckFailed":
                raise QuotaExceeded(
                    f"the {principal.tier.value} tier allows {limits.daily_requests} task "
                    "submissions a day; the quota resets at 00:00 UTC",
                    retry_after=seconds_until_reset(now),
                ) from None
            raise
        self._dispatcher.dispatch(task, principal.tier)
        metrics.emit(metrics.TASKS_SUBMITTED, 1)
        self._record(caller, task, "task_submitted", executor=task.executor.value, repo=task.repo)
        return SubmittedTask(
            task_id=task.task_id,
            status=task.status.value,
            estimated_wait=format_wait(self.estimated_wait_seconds(caller)),
        )

    def estimated_wait_seconds(self, caller: Caller) -> float:
        """Messages ahead in the tier's queue, over the runs being worked on (at least one),
        times the tenant's recent mean run time."""
        principal = caller.principal
        waiting, in_flight = self._dispatcher.depth(principal.tier)
        recent = self._usage.recent_runs(principal.tenant_id, principal.environment, RECENT_RUNS)
        durations = [r.duration_ms / 1000 for r in recent if r.duration_ms is not None]
        mean_run = sum(durations) / len(durations) if durations else DEFAULT_RUN_SECONDS
        ahead = max(0, waiting - 1)
        return ahead / max(1, in_flight) * mean_run

    def get(self, caller: Caller, task_id: str) -> TaskView:
        return task_view(self._visible(caller, task_id), self._link)

    def list(self, caller: Caller, query: TaskListQuery) -> Page[TaskSummary]:
        principal = caller.principal
        require_scope(caller, Scope.TASKS_READ)
        try:
            page = self._tasks.list_for_tenant(
                principal.tenant_id,
                principal.environment,
                limit=query.limit,
                cursor=query.cursor,
                status=query.status,
            )
        except InvalidCursor as error:
            raise InvalidRequest(str(error)) from error
        return Page(
            items=[
                TaskSummary(
                    task_id=t.task_id,
                    status=t.status.value,
                    executor=t.executor.value,
                    repo=t.repo,
                    created_at=format_timestamp(t.created_at),
                )
                for t in page.items
            ],
            next_cursor=page.next_cursor,
        )

    def cancel(self, caller: Caller, task_id: str) -> TaskView:
        """Queued runs are cancelled at once; a running one is asked to stop (the worker
        honours it between steps and while the agent runs)."""
        require_scope(caller, Scope.TASKS_WRITE)
        task = self._visible(caller, task_id)
        if task.status.is_final:
            raise Conflict(f"the task is already {task.status.value}")
        now = self._now()
        self._tasks.request_cancel(task.task_id, now)
        for run in task.runs:
            if run.status is TaskStatus.QUEUED:
                self._tasks.cancel_queued_run(task.task_id, run.run_id, now)
        refreshed = self._visible(caller, task_id)
        status = aggregate_status([run.status for run in refreshed.runs])
        if status is not refreshed.status:
            self._tasks.set_status(task.task_id, status, now)
            refreshed = refreshed.model_copy(
                update={
                    "status": status,
                    "completed_at": (refreshed.completed_at or now) if status.is_final else None,
                }
            )
        self._record(caller, task, "task_cancel_requested")
        return task_view(refreshed, self._link)

    def usage(self, caller: Caller, query: UsageQuery | None = None) -> UsageView:
        principal = caller.principal
        require_scope(caller, Scope.USAGE_READ)
        now = self._now()
        limits = TIERS[principal.tier]
        period = now.strftime("%Y-%m")
        if query is not None and query.period is not None and query.period != period:
            return self._past_usage(caller, query.period)
        month = self._usage.events(principal.tenant_id, principal.environment, period)
        return UsageView(
            period=period,
            requests=sum(1 for e in month if e.kind is UsageKind.SUBMISSION),
            quota=limits.daily_requests,
            tier=principal.tier.value,
            today=DailyUsage(
                requests=self._quota.used(
                    self._client, principal.tenant_id, principal.environment, now.date()
                ),
                limit=limits.daily_requests,
            ),
            concurrency=Concurrency(
                in_use=self._slots.in_use(principal.tenant_id), limit=limits.concurrency
            ),
        )

    def _past_usage(self, caller: Caller, period: str) -> UsageView:
        """A past month: its reconciled totals, or (not reconciled yet) its events counted."""
        principal = caller.principal
        if period > self._now().strftime("%Y-%m"):
            raise InvalidRequest("period is in the future")
        totals = self._usage.month(principal.tenant_id, principal.environment, period)
        if totals is not None:
            requests = totals.submissions
        else:
            events = self._usage.events(principal.tenant_id, principal.environment, period)
            requests = sum(1 for e in events if e.kind is UsageKind.SUBMISSION)
        limits = TIERS[principal.tier]
        return UsageView(
            period=period,
            requests=requests,
            quota=limits.daily_requests,
            tier=principal.tier.value,
            today=None,
            concurrency=None,
        )

    def _visible(self, caller: Caller, task_id: str) -> Task:
        require_scope(caller, Scope.TASKS_READ)
        principal = caller.principal
        task = self._tasks.get(principal.tenant_id, task_id)
        if task is None or task.environment is not principal.environment:
            raise NotFound("no such task")
        return task

    def _record(self, caller: Caller, task: Task, action: str, **details: str) -> None:
        self._audit.record(
            AuditEntry(
                tenant_id=task.tenant_id,
                action=action,
                resource=f"tasks/{task.task_id}",
                request_id=caller.request_id,
                metadata=caller.metadata,
                details={"environment": task.environment.value, **details},
            )
        )

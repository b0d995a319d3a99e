"""Tasks and their runs: a task asks for work on a repository; each agent's attempt is a run.

A task names one executor or ``all``; it has one run per agent it names (``all`` fans out to
every agent the tenant's tier allows), and its status is derived from its runs.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from outpost.models.common import (
    DomainModel,
    Environment,
    UtcDatetime,
    prefixed_id,
    prefixed_id_pattern,
    utc_now,
)
from outpost.models.tier import Agent, TierLimits

TASK_TEXT_MAX_CHARS = 10_000
ERROR_MAX_CHARS = 2_000

_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def _check_repo(value: str) -> str:
    """GitHub's rules for ``owner/name``: owners of letters, digits and single inner hyphens
    (at most 39), names of letters, digits, ``.``, ``_``, ``-`` (at most 100)."""
    owner, slash, name = value.partition("/")
    if not slash or not _OWNER.fullmatch(owner):
        raise ValueError("repo must be 'owner/name' with a valid GitHub owner")
    if not _REPO_NAME.fullmatch(name) or name in {".", ".."} or name.lower().endswith(".git"):
        raise ValueError("repo name may hold letters, digits, '.', '_' and '-' (no .git suffix)")
    return value


def _check_ref(value: str) -> str:
    """git check-ref-format's rules, plus no leading '-' so a ref can never read as an option."""
    if (
        _REF_FORBIDDEN.search(value)
        or value.startswith(("-", "/", "."))
        or value.endswith(("/", ".", ".lock"))
        or value == "@"
        or "/." in value
    ):
        raise ValueError("ref is not a valid git branch, tag or commit name")
    return value


def _check_task_text(value: str) -> str:
    if not value.strip():
        raise ValueError("task text must not be blank")
    return value


RepoName = Annotated[str, StringConstraints(max_length=140), AfterValidator(_check_repo)]
GitRef = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_check_ref)]
TaskText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TASK_TEXT_MAX_CHARS),
    AfterValidator(_check_task_text),
]
TASK_ID_PREFIX = "tsk"
RUN_ID_PREFIX = "run"
TaskId = Annotated[str, StringConstraints(pattern=prefixed_id_pattern(TASK_ID_PREFIX))]
RunId = Annotated[str, StringConstraints(pattern=prefixed_id_pattern(RUN_ID_PREFIX))]


class Executor(StrEnum):
    """What a submission asks for: one agent, or ``all`` the tier allows."""

    CLAUDE = "claude"
    CODEX = "codex"
    GEMINI = "gemini"
    AIDER = "aider"
    GROK = "grok"
    ALL = "all"

    def agents(self, limits: TierLimits) -> tuple[Agent, ...]:
        if self is Executor.ALL:
            return tuple(agent for agent in Agent if limits.allows(agent))
        return (Agent(self.value),)


class ContextLevel(StrEnum):
    OFF = "off"
    MINIMAL = "minimal"
    STANDARD = "standard"
    FULL = "full"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})


class Changes(StrEnum):
    COMMITTED = "committed"
    UNCOMMITTED = "uncommitted"
    NONE = "none"


class Run(DomainModel):
    run_id: RunId = Field(default_factory=lambda: prefixed_id(RUN_ID_PREFIX))
    task_id: TaskId
    tenant_id: UUID
    executor: Agent
    status: TaskStatus = TaskStatus.QUEUED
    attempts: Annotated[int, Field(ge=0)] = 0
    lease_owner: str | None = None
    lease_expires_at: UtcDatetime | None = None
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    exit_code: int | None = None
    changes: Changes | None = None
    branch: str | None = None
    output_prefix: str | None = Field(
        default=None, description="S3 key prefix of the run's artifacts, once uploaded."
    )
    error: Annotated[str, StringConstraints(max_length=ERROR_MAX_CHARS)] | None = None

    @property
    def artifact_prefix(self) -> str:
        """Where the worker puts this run's artifacts: always under the owning tenant."""
        return f"runs/{self.tenant_id}/{self.run_id}/"


def aggregate_status(statuses: list[TaskStatus]) -> TaskStatus:
    """A task's status from its runs': final only when every run is final; then failed if any
    run failed, cancelled if all were cancelled, else completed."""
    if not statuses:
        return TaskStatus.QUEUED
    if all(status is TaskStatus.QUEUED for status in statuses):
        return TaskStatus.QUEUED
    if not all(status.is_final for status in statuses):
        return TaskStatus.PROCESSING
    if TaskStatus.FAILED in statuses:
        return TaskStatus.FAILED
    if all(status is TaskStatus.CANCELLED for status in statuses):
        return TaskStatus.CANCELLED
    return TaskStatus.COMPLETED


class Task(DomainModel):
    task_id: TaskId = Field(default_factory=lambda: prefixed_id(TASK_ID_PREFIX))
    tenant_id: UUID
    environment: Environment
    repo: RepoName
    ref: GitRef | None = Field(default=None, description="Branch, tag or commit; default branch.")
    task: TaskText
    executor: Executor
    context: ContextLevel = ContextLevel.STANDARD
    status: TaskStatus = TaskStatus.QUEUED
    cancel_requested: bool = False
    created_at: UtcDatetime = Field(default_factory=utc_now)
    updated_at: UtcDatetime = Field(default_factory=utc_now)
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime | None = None
    runs: tuple[Run, ...] = ()

    @model_validator(mode="after")
    def _runs_match_executor(self) -> Self:
        if not self.runs:
            return self
        agents = [run.executor for run in self.runs]
        if len(set(agents)) != len(agents):
            raise ValueError("a task has at most one run per agent")
        if self.executor is not Executor.ALL and agents != [Agent(self.executor.value)]:
            raise ValueError("a single-executor task has exactly one run, of that executor")
        if any(run.task_id != self.task_id or run.tenant_id != self.tenant_id for run in self.runs):
            raise ValueError("every run belongs to its task and its task's tenant")
        return self

    @classmethod
    def submit(
        cls,
        *,
        tenant_id: UUID,
        environment: Environment,
        repo: str,
        task: str,
        executor: Executor,
        limits: TierLimits,
        context: ContextLevel = ContextLevel.STANDARD,
        ref: str | None = None,
    ) -> Task:
        """A new queued task with its runs: one per agent it names that the tier allows."""
        task_id = prefixed_id(TASK_ID_PREFIX)
        runs = tuple(
            Run(task_id=task_id, tenant_id=tenant_id, executor=agent)
            for agent in executor.agents(limits)
        )
        return cls(
            task_id=task_id,
            tenant_id=tenant_id,
            environment=environment,
            repo=repo,
            ref=ref,
            task=task,
            executor=executor,
            context=context,
            runs=runs,
        )

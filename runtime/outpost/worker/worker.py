"""The worker loop and one job: a queue message taken through to its run's end.

Per message: claim the run (a conditional write taking a lease and counting the attempt),
take the tenant's concurrency slot (or wait for one by a re-sent delayed message), fetch that
tenant's keys, clone, build the prompt, run the agent CLI apart from the worker, decide and
commit the changes, push a branch, upload output.log, diff.patch and result.json, end the
run, release the slot, audit and meter, delete the message. A heartbeat renews the lease, the
slot, the message's visibility and the ECS task's protection, and notices a cancel request.

Failures before the agent runs go back to SQS (its receive limit sends the message to the
dead-letter queue after 3); a failure after the agent ran ends the run failed, so an agent is
never run twice for one attempt's fault. Waiting for a slot and handing a job back on SIGTERM
re-send the message instead, so neither counts toward the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from outpost import metrics
from outpost.data.secrets import TenantSecrets
from outpost.data.tasks import TaskRepository
from outpost.data.tenants import TenantRepository
from outpost.models.common import utc_now
from outpost.models.secret import Provider
from outpost.models.task import Changes, Run, Task, TaskStatus
from outpost.models.tenant import Tenant
from outpost.models.tier import TIERS, Tier
from outpost.services.dispatch import RunMessage, TaskDispatcher
from outpost.services.runs import MAX_ATTEMPTS, RunOutcomes
from outpost.services.slots import ConcurrencySlots
from outpost.worker.executors import EXECUTORS, AgentRun, ExecutorSpec
from outpost.worker.git import Git, GitFailed, WorkspaceTampered
from outpost.worker.polling import Received, TierPoller
from outpost.worker.prompt import build_prompt
from outpost.worker.protection import TaskProtection
from outpost.worker.sandbox import (
    AgentExit,
    AgentUser,
    Ending,
    Heartbeat,
    agent_environment,
    run_agent,
)
from outpost.worker.settings import WorkerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

logger = Logger(service="outpost")

OUTPUT_TAIL_BYTES = 64 * 1024
ARTIFACTS = ("output.log", "diff.patch", "result.json")
CONTENT_TYPES = {
    "output.log": "text/plain; charset=utf-8",
    "diff.patch": "text/x-diff; charset=utf-8",
    "result.json": "application/json",
}
COMMIT_SUBJECT_CHARS = 72
REDACTED = b"[redacted]"


class Phase(StrEnum):
    IDLE = "idle"
    PREPARING = "preparing"
    AGENT = "agent"
    FINISHING = "finishing"


class RetryLater(Exception):
    """A failure before the agent ran: SQS delivers the message again (3 times at most)."""


class HandBack(Exception):
    """The worker is stopping before the agent finished: the run goes back to the queue."""


class Cancelled(Exception):
    """The tenant cancelled the task before its agent started."""


class LeaseLost(Exception):
    """Another worker holds the run now (this one stalled past its lease): stop touching it."""


@dataclass(frozen=True)
class Stores:
    tasks: TaskRepository
    tenants: TenantRepository
    secrets: TenantSecrets
    slots: ConcurrencySlots
    dispatcher: TaskDispatcher
    outcomes: RunOutcomes
    sqs: SQSClient
    s3: S3Client
    protection: TaskProtection


class Worker:
    def __init__(
        self,
        settings: WorkerSettings,
        stores: Stores,
        agent_user: AgentUser,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.stores = stores
        self.agent_user = agent_user
        self.now = now
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self.phase = Phase.IDLE
        self.jobs_run = 0
        self._poller = TierPoller(stores.sqs, settings.queue_urls, settings.poll_wait_seconds)

    def stop(self) -> None:
        """Take no new message; hand back the one held unless it is already finishing."""
        self.stopping.set()

    def serve(self) -> None:
        limit = self.settings.jobs_per_worker
        while not self.stopping.is_set():
            received = self._poller.receive()
            if received is None:
                continue
            if self.handle(received):
                self.jobs_run += 1
                if limit and self.jobs_run >= limit:
                    logger.info("job limit reached; exiting for a fresh container")
                    return

    def handle(self, received: Received) -> bool:
        """Process one message; True when an agent ran for it."""
        try:
            message = RunMessage.model_validate_json(received.body)
        except ValidationError:
            logger.error("unreadable run message dropped", extra={"tier": received.tier.value})
            self._delete(received)
            return False
        now = self.now()
        run = self.stores.tasks.claim_run(
            message.task_id, message.run_id, self.worker_id, self._lease_end(), now
        )
        if run is None:
            logger.info("run leased elsewhere, finished or cancelled: delivery dropped",
                        extra={"run_id": message.run_id})  # fmt: skip
            self._delete(received)
            return False
        return Job(self, received, run).execute()

    def _lease_end(self) -> datetime:
        return self.now() + timedelta(seconds=self.settings.lease_seconds)

    def _delete(self, received: Received) -> None:
        self.stores.sqs.delete_message(
            QueueUrl=received.queue_url, ReceiptHandle=received.receipt_handle
        )


class Job:
    def __init__(self, worker: Worker, received: Received, run: Run) -> None:
        self.worker = worker
        self.stores = worker.stores
        self.settings = worker.settings
        self.received = received
        self.run = run
        self.request_id = f"{run.run_id}#{run.attempts}"
        self.cancel = threading.Event()
        self.agent_ran = False
        self.secret_values: list[str] = []
        self.lease_lost = threading.Event()
        self.workspace = self.settings.workspace_root / f"{run.tenant_id}-{run.run_id}"
        self.private = Path(tempfile.mkdtemp(prefix="outpost-run-"))
        logger.append_keys(tenant_id=str(run.tenant_id), run_id=run.run_id, task_id=run.task_id)

    def execute(self) -> bool:
        """Take the run to its end, back to its queue, or back to SQS; True if the agent ran."""
        try:
            admitted = self._admit()
            if admitted is not None:
                self._end(self._supervised(*admitted))
        except Cancelled:
            self._end(self._ended(TaskStatus.CANCELLED))
        except HandBack:
            logger.info("stopping: run handed back to its queue")
            self._requeue(self._tier(), delay=0)
        except RetryLater as error:
            logger.warning(
                "run failed before the agent ran; SQS retries it", extra={"error": str(error)}
            )
            self._retry_later(str(error))
        except LeaseLost:
            logger.warning("lease lost to another worker; leaving the run to it")
        except Exception as error:
            if self.worker.phase is Phase.FINISHING:
                logger.exception("run failed after its agent ran")
                self._end(
                    self._ended(TaskStatus.FAILED, error="internal error after the agent ran")
                )
            else:
                logger.exception("run failed before the agent ran; SQS retries it")
                self._retry_later(f"internal error before the agent ran: {type(error).__name__}")
        finally:
            self.worker.phase = Phase.IDLE
            shutil.rmtree(self.workspace, ignore_errors=True)
            shutil.rmtree(self.private, ignore_errors=True)
            logger.remove_keys(["tenant_id", "run_id", "task_id"])
        return self.agent_ran

    def _admit(self) -> tuple[Task, Tenant] | None:
        """The task and tenant, once the run may start and holds a slot; None if it ended or
        went back to wait for a slot."""
        task = self.stores.tasks.get(self.run.tenant_id, self.run.task_id)
        tenant = self.stores.tenants.get(self.run.tenant_id)
        if task is None or tenant is None or not tenant.is_active:
            self._end(self._ended(TaskStatus.FAILED, error="the tenant is no longer active"))
            return None
        refusal = self._refusal(task)
        if refusal is not None:
            status, error = refusal
            self._end(self._ended(status, error=error))
            return None
        limits = TIERS[tenant.tier]
        if not self.stores.slots.acquire(tenant.tenant_id, self.run.run_id, limits.concurrency):
            self._requeue(tenant.tier, delay=self.settings.slot_wait_seconds)
            return None
        return task, tenant

    def _supervised(self, task: Task, tenant: Tenant) -> Run:
        """Perform the run with the heartbeat beating and the ECS task protected."""
        heartbeat = Heartbeat(self._beat, self.settings.heartbeat_seconds)
        heartbeat.start()
        self.stores.protection.protect()
        try:
            self.stores.outcomes.started(self.run, self.request_id)
            waited = (self.worker.now() - task.created_at).total_seconds()
            metrics.emit(metrics.QUEUE_WAIT_SECONDS, waited, MetricUnit.Seconds)
            return self._perform(task, tenant)
        finally:
            heartbeat.stop()
            self.stores.protection.unprotect()

    def _refusal(self, task: Task) -> tuple[TaskStatus, str | None] | None:
        """Why this run must end without running, if it must."""
        if task.cancel_requested:
            return TaskStatus.CANCELLED, None
        if self.run.attempts > MAX_ATTEMPTS:
            reason = self.run.error or "its worker was lost each time"
            return TaskStatus.FAILED, f"gave up after {MAX_ATTEMPTS} attempts: {reason}"
        return None

    def _tier(self) -> Tier:
        tenant = self.stores.tenants.get(self.run.tenant_id)
        return tenant.tier if tenant else self.received.tier

    # --- the steps -------------------------------------------------------------------------

    def _perform(self, task: Task, tenant: Tenant) -> Run:
        self.worker.phase = Phase.PREPARING
        spec = EXECUTORS[self.run.executor]
        cli = shutil.which(spec.binary)
        if cli is None:
            return self._ended(
                TaskStatus.FAILED, error=f"the {spec.binary} CLI is not installed on this worker"
            )
        try:
            keys = self.stores.secrets.values(tenant.tenant_id)
            self.secret_values = sorted(keys.values(), key=len, reverse=True)
        except (BotoCoreError, ClientError) as error:
            raise RetryLater(f"could not read the tenant's keys: {type(error).__name__}") from None
        key = keys.get(spec.provider)
        if key is None:
            return self._ended(
                TaskStatus.FAILED,
                error=f"no {spec.provider.value} key is stored for this tenant "
                f"(PUT /v1/secrets/{spec.provider.value})",
            )
        token = keys.get(Provider.GITHUB)
        if token is None and not self.settings.git_base_url.startswith("file://"):
            return self._ended(
                TaskStatus.FAILED,
                error="no github token is stored for this tenant (PUT /v1/secrets/github)",
            )
        git = self._prepare_workspace()
        try:
            base = git.clone(task.repo, task.ref, token)
        except GitFailed as error:
            raise RetryLater(str(error)) from None
        git.exclude(spec.droppings)
        self._check_between_steps()
        prompt = build_prompt(task, git)
        home = self.workspace / "home"
        spec.prepare_home(home)
        self.worker.agent_user.own(self.workspace)
        base_url = self.settings.base_urls.get(spec.provider)
        environment = agent_environment(
            path=os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            home=home,
            tmp=self.workspace / "tmp",
            variables=spec.environment_for(key, home, base_url),
        )
        self._check_between_steps()
        self.worker.phase = Phase.AGENT
        exited = run_agent(
            spec.argv(cli, prompt, git.repo, base_url),
            cwd=git.repo,
            env=environment,
            output=self.private / "output.log",
            user=self.worker.agent_user,
            timeout_seconds=self.settings.run_timeout(tenant.tier),
            should_stop=self._should_stop,
        )
        if exited.ending is Ending.STOPPED:
            if self.lease_lost.is_set():
                raise LeaseLost
            if not self.cancel.is_set():
                raise HandBack
        self.worker.phase = Phase.FINISHING
        self.agent_ran = True
        return self._conclude(task, spec, git, base=base, token=token, exited=exited)

    def _prepare_workspace(self) -> Git:
        root = self.settings.workspace_root
        root.mkdir(parents=True, exist_ok=True)
        # Enter, but not list: no run can find another run's workspace by looking.
        root.chmod(0o711)
        shutil.rmtree(self.workspace, ignore_errors=True)
        self.workspace.mkdir(mode=0o700)
        for name in ("home", "tmp"):
            (self.workspace / name).mkdir(mode=0o700)
        return Git(self.workspace / "repo", self.private, self.settings.git_base_url)

    def _check_between_steps(self) -> None:
        if self.lease_lost.is_set():
            raise LeaseLost
        if self.worker.stopping.is_set():
            raise HandBack
        if self.cancel.is_set() or self.stores.tasks.cancel_requested(self.run.task_id):
            raise Cancelled

    def _should_stop(self) -> bool:
        return self.cancel.is_set() or self.lease_lost.is_set() or self.worker.stopping.is_set()

    def _conclude(
        self,
        task: Task,
        spec: ExecutorSpec,
        git: Git,
        *,
        base: str,
        token: str | None,
        exited: AgentExit,
    ) -> Run:
        """After the agent: restore git's config, commit, judge, push, write the artifacts."""
        try:
            git.restore_config()
        except WorkspaceTampered as tampered:
            self._upload()
            return self._ended(
                TaskStatus.FAILED,
                exit_code=exited.exit_code,
                error=str(tampered),
                output_prefix=self.run.artifact_prefix,
            )
        subject = task.task.strip().splitlines()[0][:COMMIT_SUBJECT_CHARS]
        committed = git.commits_since(base) > 0
        dirty = git.commit_all(f"Outpost: {subject}")
        changes = Changes.UNCOMMITTED if dirty else Changes.COMMITTED if committed else Changes.NONE
        output = self._output_tail()
        error: str | None = None
        if self.cancel.is_set():
            status, judged_by = TaskStatus.CANCELLED, "cancel requested"
        elif exited.ending is Ending.TIMED_OUT:
            timeout = self.settings.run_timeout(task_tier := self._tier())
            status, judged_by = TaskStatus.FAILED, "time limit"
            error = (
                f"the agent ran past the {task_tier.value} tier's {timeout}s limit and was stopped"
            )
        else:
            verdict = spec.judge(
                AgentRun(
                    exit_code=exited.exit_code or 0,
                    output=output,
                    tree_changed=changes is not Changes.NONE,
                )
            )
            status = TaskStatus.COMPLETED if verdict.succeeded else TaskStatus.FAILED
            judged_by, error = verdict.judged_by, verdict.detail
        branch = None
        if changes is not Changes.NONE and status is not TaskStatus.CANCELLED:
            branch = self._branch_name(task)
            try:
                git.push(task.repo, branch, token)
            except GitFailed as failure:
                status, branch = TaskStatus.FAILED, None
                error = f"the changes could not be pushed: {failure}"
        (self.private / "diff.patch").write_text(git.diff(base))
        ended = self._ended(
            status,
            exit_code=exited.exit_code,
            changes=changes,
            branch=branch,
            error=error,
            output_prefix=self.run.artifact_prefix,
        )
        result = {
            "task_id": self.run.task_id,
            "run_id": self.run.run_id,
            "executor": self.run.executor.value,
            "status": status.value,
            "exit_code": exited.exit_code,
            "ending": exited.ending.value,
            "judged_by": judged_by,
            "changes": changes.value,
            "branch": branch,
            "base_commit": base,
            "head_commit": git.head(),
            "agent_seconds": round(exited.seconds, 3),
            "error": error,
        }
        (self.private / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        self._upload()
        return ended

    def _branch_name(self, task: Task) -> str:
        if len(task.runs) > 1:
            return f"outpost/{task.task_id}-{self.run.executor.value}"
        return f"outpost/{task.task_id}"

    def _output_tail(self) -> str:
        path = self.private / "output.log"
        if not path.exists():
            return ""
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - OUTPUT_TAIL_BYTES))
            return handle.read().decode("utf-8", errors="replace")

    def _upload(self) -> None:
        """The artifacts, with every value of the tenant's keys masked: an agent that prints
        its key (or writes it into a file) does not put it in S3."""
        for name in ARTIFACTS:
            path = self.private / name
            body = path.read_bytes() if path.exists() else b""
            for secret in self.secret_values:
                body = body.replace(secret.encode(), REDACTED)
            self.stores.s3.put_object(
                Bucket=self.settings.runs_bucket,
                Key=self.run.artifact_prefix + name,
                Body=body,
                ContentType=CONTENT_TYPES[name],
            )

    # --- ends, hand-backs and retries -----------------------------------------------------

    def _ended(self, status: TaskStatus, **fields: object) -> Run:
        return self.run.model_copy(
            update={"status": status, "completed_at": self.worker.now(), **fields}
        )

    def _end(self, ended: Run) -> None:
        if self.stores.outcomes.finish(ended, self.worker.worker_id, self.request_id) is None:
            logger.warning("run had already ended or changed hands; its end was not recorded")
        elif ended.status is TaskStatus.FAILED:
            metrics.emit(metrics.RUNS_FAILED, 1)
        elif ended.status is TaskStatus.COMPLETED:
            metrics.emit(metrics.RUNS_COMPLETED, 1)
        if self.agent_ran and ended.started_at and ended.completed_at:
            seconds = (ended.completed_at - ended.started_at).total_seconds()
            metrics.emit(
                metrics.RUN_SECONDS, seconds, MetricUnit.Seconds, executor=ended.executor.value
            )
        self.worker._delete(self.received)
        logger.info("run ended", extra={"status": ended.status.value, "exit_code": ended.exit_code})

    def _requeue(self, tier: Tier, delay: int) -> None:
        """Hand the run back without counting an attempt: a fresh message, never a receive
        that brings the dead-letter queue nearer."""
        if self.stores.tasks.hand_back_run(
            self.run.task_id, self.run.run_id, self.worker.worker_id, counted=False
        ):
            self.stores.slots.release(self.run.tenant_id, self.run.run_id)
            self.stores.dispatcher.send(self.run, tier, delay_seconds=delay)
        self.worker._delete(self.received)

    def _retry_later(self, error: str) -> None:
        """Leave the message to SQS: visible again after a backoff, dead-lettered after 3."""
        if self.stores.tasks.hand_back_run(
            self.run.task_id, self.run.run_id, self.worker.worker_id, counted=True, error=error
        ):
            self.stores.slots.release(self.run.tenant_id, self.run.run_id)
        backoff = min(self.settings.retry_backoff_seconds * self.received.receive_count, 900)
        try:
            self.stores.sqs.change_message_visibility(
                QueueUrl=self.received.queue_url,
                ReceiptHandle=self.received.receipt_handle,
                VisibilityTimeout=backoff,
            )
        except (BotoCoreError, ClientError):
            logger.warning("could not set the retry backoff; the queue's timeout applies")

    def _beat(self) -> None:
        """Renew the lease (first: losing it stops the job), the slot, the message's
        visibility and the task's protection; notice a cancel request."""
        run = self.run
        if not self.stores.tasks.renew_lease(
            run.task_id, run.run_id, self.worker.worker_id, self.worker._lease_end()
        ):
            self.lease_lost.set()
            return
        self.stores.slots.renew(run.tenant_id, run.run_id)
        self.stores.sqs.change_message_visibility(
            QueueUrl=self.received.queue_url,
            ReceiptHandle=self.received.receipt_handle,
            VisibilityTimeout=self.settings.lease_seconds,
        )
        self.stores.protection.protect()
        if self.stores.tasks.cancel_requested(run.task_id):
            self.cancel.set()

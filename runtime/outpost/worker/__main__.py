"""``python -m outpost.worker``: the container's entrypoint, and local mode's worker process."""

from __future__ import annotations

import signal
import sys
from datetime import timedelta
from types import FrameType

import boto3
from aws_lambda_powertools import Logger

from outpost.data.tasks import TaskRepository
from outpost.data.tenants import TenantRepository
from outpost.data.usage import UsageRepository
from outpost.services.dispatch import TaskDispatcher
from outpost.services.runs import RunOutcomes
from outpost.services.slots import ConcurrencySlots
from outpost.settings import Misconfigured
from outpost.wire_logs import keep_bodies_out_of_logs
from outpost.worker.protection import task_protection
from outpost.worker.sandbox import AgentUser, make_undumpable
from outpost.worker.settings import WorkerSettings
from outpost.worker.worker import Stores, Worker

logger = Logger(service="outpost")


def build(settings: WorkerSettings) -> Worker:
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    tasks = TaskRepository(dynamodb, settings.tasks_table)
    slots = ConcurrencySlots(
        dynamodb, settings.usage_table, timedelta(seconds=settings.lease_seconds)
    )
    stores = Stores(
        tasks=tasks,
        tenants=TenantRepository(dynamodb, settings.tenants_table),
        secrets=settings.tenant_secrets(boto3.client("secretsmanager"), dynamodb),
        slots=slots,
        dispatcher=TaskDispatcher(sqs, settings.queue_urls, tasks),
        outcomes=RunOutcomes(
            tasks=tasks,
            usage=UsageRepository(dynamodb, settings.usage_table),
            slots=slots,
            audit=settings.audit_service(dynamodb, sqs),
        ),
        sqs=sqs,
        s3=boto3.client("s3"),
        protection=task_protection(),
    )
    return Worker(settings, stores, AgentUser.resolve(settings.agent_user))


def main() -> int:
    make_undumpable()
    keep_bodies_out_of_logs()
    try:
        settings = WorkerSettings.from_environ()
        worker = build(settings)
    except Misconfigured as error:
        logger.error("worker misconfigured", extra={"error": str(error)})
        return 2

    def stop(_signum: int, _frame: FrameType | None) -> None:
        logger.info("SIGTERM: taking no new work")
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not worker.agent_user.switches:
        logger.warning(
            "not running as root: agents run as this worker's own user "
            f"({worker.agent_user.name}), not as {settings.agent_user}"
        )
    logger.info("worker started", extra={"worker_id": worker.worker_id})
    worker.serve()
    logger.info("worker stopped", extra={"jobs_run": worker.jobs_run})
    return 0


if __name__ == "__main__":
    sys.exit(main())

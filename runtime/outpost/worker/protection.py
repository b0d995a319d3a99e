"""ECS task scale-in protection while a job runs, behind a small interface.

ECS picks tasks to stop on scale-in without knowing which are busy; a protected task is
skipped. Protection expires on its own (``expires_in_minutes``), so a worker that died holding
it cannot pin a task forever; the heartbeat renews it while the job runs.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import TYPE_CHECKING, Protocol

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

logger = Logger(service="outpost")

METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4"
PROTECTION_MINUTES = 120


class TaskProtection(Protocol):
    def protect(self) -> None: ...

    def unprotect(self) -> None: ...


class NoTaskProtection:
    """Outside ECS (local mode, tests) there is nothing to protect."""

    def protect(self) -> None:
        return None

    def unprotect(self) -> None:
        return None


class EcsTaskProtection:
    def __init__(self, ecs: ECSClient, cluster: str, task_arn: str) -> None:
        self._ecs = ecs
        self._cluster = cluster
        self._task_arn = task_arn

    def _update(self, enabled: bool) -> None:
        try:
            self._ecs.update_task_protection(
                cluster=self._cluster,
                tasks=[self._task_arn],
                protectionEnabled=enabled,
                **({"expiresInMinutes": PROTECTION_MINUTES} if enabled else {}),
            )
        except (BotoCoreError, ClientError):
            # Losing protection risks a hand-back on scale-in, never a lost job.
            logger.warning("task protection not updated", exc_info=True)

    def protect(self) -> None:
        self._update(True)

    def unprotect(self) -> None:
        self._update(False)


def task_protection() -> TaskProtection:
    """ECS protection when running as an ECS task (its metadata endpoint says which)."""
    endpoint = os.environ.get(METADATA_VARIABLE)
    if not endpoint:
        return NoTaskProtection()
    with urllib.request.urlopen(f"{endpoint}/task", timeout=5) as response:  # noqa: S310
        metadata = json.load(response)
    return EcsTaskProtection(boto3.client("ecs"), metadata["Cluster"], metadata["TaskARN"])

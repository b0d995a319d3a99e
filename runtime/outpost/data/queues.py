"""The one definition of each SQS queue, read by the CDK constructs and by local mode.

Timings are not here: the cloud takes them from the environment's settings, local mode uses
short ones so retries and dead-lettering run in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from outpost.models.tier import Tier

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    env_var: str
    dead_letter_id: str
    max_receive_count: int

    def queue_name(self, environment: str) -> str:
        return f"outpost-{self.logical_id}-{environment}"

    def dead_letter_queue_name(self, environment: str) -> str:
        """Several queues may share one dead-letter queue."""
        return f"outpost-{self.dead_letter_id}-{environment}"


@dataclass(frozen=True)
class QueueTimings:
    visibility_timeout_seconds: int
    retention_seconds: int


def provision_queue(
    client: SQSClient, spec: QueueSpec, environment: str, timings: QueueTimings
) -> str:
    """Create a queue and its dead-letter queue as the stack declares them; the queue's URL."""
    dlq_url = client.create_queue(QueueName=spec.dead_letter_queue_name(environment))["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
    )
    return client.create_queue(
        QueueName=spec.queue_name(environment),
        Attributes={
            "VisibilityTimeout": str(timings.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(timings.retention_seconds),
            "RedrivePolicy": redrive,
        },
    )["QueueUrl"]


# The audit buffer: entries wait here for the consumer that writes them to the audit table.
AUDIT_BUFFER = QueueSpec(
    logical_id="audit",
    env_var="OUTPOST_AUDIT_QUEUE_URL",
    dead_letter_id="audit-dlq",
    max_receive_count=5,
)

# One queue per tier, sharing one dead-letter queue; a run goes there after three real
# processing attempts (waiting for a concurrency slot is re-sent, so it never counts).
TASK_QUEUES: MappingProxyType[Tier, QueueSpec] = MappingProxyType(
    {
        tier: QueueSpec(
            logical_id=f"jobs-{tier.value}",
            env_var=f"OUTPOST_JOBS_{tier.value.upper()}_QUEUE_URL",
            dead_letter_id="jobs-dlq",
            max_receive_count=3,
        )
        for tier in Tier
    }
)

ALL_QUEUES: tuple[QueueSpec, ...] = (AUDIT_BUFFER, *TASK_QUEUES.values())

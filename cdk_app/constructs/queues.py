"""SQS queues as every queue of the stack is made: KMS-encrypted and TLS-only."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    queue_name: str,
    key: kms.IKey,
    retention: Duration | None = None,
    **options: Any,
) -> sqs.Queue:
    """``options`` are further sqs.Queue properties (visibility timeout, dead-letter queue);
    retention defaults to SQS's maximum, 14 days."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=retention or Duration.days(14),
        **options,
    )

"""AuditService: records what happened without ever failing the request it describes.

Entries go to an SQS buffer (one fast SendMessage); a consumer writes them to the audit table
with an idempotent put. If the buffer cannot be reached the entry is written to the table
directly; if that fails too, the whole entry is logged at ERROR, so it is never silently lost
(the log is the record of last resort, and its error count is alarmed on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from outpost.models.audit import AuditEntry

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(service="outpost")

AuditSink = Callable[[AuditEntry], object]


class SqsAuditBuffer:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, entry: AuditEntry) -> None:
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=entry.model_dump_json())


class AuditService:
    def __init__(self, sinks: Sequence[AuditSink]) -> None:
        """``sinks`` are tried in order until one accepts the entry."""
        self._sinks = sinks

    def record(self, entry: AuditEntry) -> bool:
        """True when a sink took the entry; never raises for a storage failure."""
        for sink in self._sinks:
            try:
                sink(entry)
            except (BotoCoreError, ClientError):
                logger.warning("audit sink failed; trying the next", exc_info=True)
            else:
                return True
        logger.error("audit entry not stored", extra={"audit_entry": entry.model_dump(mode="json")})
        return False

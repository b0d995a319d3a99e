"""AuditService: records what happened without ever failing the request it describes.

Entries go to an SQS buffer (one fast SendMessage); a consumer writes them to the audit table
with an idempotent put. If the buffer cannot be reached the entry is written to the table
directly; if that fails too, the whole entry is logged at ERROR, so it is never silently lost
(the log is the record of last resort, and its error count is alarmed on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from outpost.data.audit import AuditRepository
from outpost.data.pagination import InvalidCursor, Page
from outpost.data.queues import AUDIT_BUFFER
from outpost.data.tables import AUDIT
from outpost.errors import InvalidRequest, NotFound
from outpost.models.api_key import Scope
from outpost.models.audit import AuditEntry
from outpost.services.auth import Caller, require_scope
from outpost.settings import RuntimeSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

logger = Logger(service="outpost")

AuditSink = Callable[[AuditEntry], object]


class SqsAuditBuffer:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, entry: AuditEntry) -> None:
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=entry.model_dump_json())


class AuditSettings(RuntimeSettings):
    """Where the audit trail lives; functions that read or write it extend these settings."""

    audit_table: str = Field(alias=AUDIT.env_var)
    audit_queue_url: str | None = Field(alias=AUDIT_BUFFER.env_var, default=None)
    audit_retention_days: int = Field(alias="OUTPOST_AUDIT_RETENTION_DAYS", default=90, ge=1)

    def audit_repository(self, dynamodb: DynamoDBClient) -> AuditRepository:
        return AuditRepository(
            dynamodb, self.audit_table, timedelta(days=self.audit_retention_days)
        )

    def audit_service(self, dynamodb: DynamoDBClient, sqs: SQSClient) -> AuditService:
        """The buffer first (when configured), then the table itself."""
        table = self.audit_repository(dynamodb)
        if self.audit_queue_url is None:
            return AuditService([table.put])
        return AuditService([SqsAuditBuffer(sqs, self.audit_queue_url).send, table.put])


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


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: UUID | None = Field(default=None, description="Admins only: whose trail to read.")
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: str | None = None


def read_audit(caller: Caller, repository: AuditRepository, query: AuditQuery) -> Page[AuditEntry]:
    """The caller's own trail; an admin may name any tenant (or the unattributed partition)."""
    principal = caller.principal
    require_scope(caller, Scope.AUDIT_READ)
    tenant_id = query.tenant_id or principal.tenant_id
    if tenant_id != principal.tenant_id and not principal.has(Scope.ADMIN):
        raise NotFound("no such tenant")
    try:
        return repository.query(
            tenant_id, since=query.since, until=query.until, limit=query.limit, cursor=query.cursor
        )
    except InvalidCursor as error:
        raise InvalidRequest(str(error)) from error

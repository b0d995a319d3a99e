"""Domain models (pydantic v2): the shapes every handler, store and the worker agree on."""

from outpost.models.api_key import ApiKey, Scope
from outpost.models.audit import AuditEntry, RequestMetadata
from outpost.models.common import Environment
from outpost.models.task import (
    Changes,
    ContextLevel,
    Executor,
    Run,
    Task,
    TaskStatus,
    aggregate_status,
)
from outpost.models.tenant import Tenant, TenantStatus
from outpost.models.tier import TIERS, Agent, Tier, TierLimits
from outpost.models.usage import UsageKind, UsageRecord

__all__ = [
    "TIERS",
    "Agent",
    "ApiKey",
    "AuditEntry",
    "Changes",
    "ContextLevel",
    "Environment",
    "Executor",
    "RequestMetadata",
    "Run",
    "Scope",
    "Task",
    "TaskStatus",
    "Tenant",
    "TenantStatus",
    "Tier",
    "TierLimits",
    "UsageKind",
    "UsageRecord",
    "aggregate_status",
]

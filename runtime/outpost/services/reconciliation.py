"""Usage reconciliation: each tenant's month rolled up from its usage events, checked against
the audit trail's record of the same tasks. Usage is what billing counts; the audit trail is
written independently (another path, another table), so a difference means one of them lost
or doubled something, and it is recorded where operators and the tenant's trail will see it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from aws_lambda_powertools import Logger

from outpost.data.audit import AuditRepository
from outpost.data.tenants import TenantRepository
from outpost.data.usage import UsageRepository
from outpost.models.audit import AuditEntry
from outpost.models.common import Environment, utc_now
from outpost.models.usage import MonthlyUsage, UsageKind
from outpost.services.audit import AuditService
from outpost.services.runs import END_ACTIONS

logger = Logger(service="outpost")

RUN_END_ACTIONS = frozenset(END_ACTIONS.values())


class Reconciler:
    def __init__(
        self,
        *,
        tenants: TenantRepository,
        usage: UsageRepository,
        audit_entries: AuditRepository,
        audit: AuditService,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._tenants = tenants
        self._usage = usage
        self._audit_entries = audit_entries
        self._audit = audit
        self._now = now

    def reconcile(self, period: str) -> list[MonthlyUsage]:
        """Roll up and check every tenant's month; the months that did not match."""
        mismatched = []
        for tenant in self._tenants.all():
            entries = self._audit_entries.month(tenant.tenant_id, period)
            for environment in Environment:
                month = self._month(tenant.tenant_id, environment, period, entries)
                self._usage.save_month(month)
                if month.mismatched:
                    mismatched.append(month)
                    self._report(month)
        return mismatched

    def _month(
        self, tenant_id: UUID, environment: Environment, period: str, entries: list[AuditEntry]
    ) -> MonthlyUsage:
        events = self._usage.events(tenant_id, environment, period)
        runs = [e for e in events if e.kind is UsageKind.RUN]
        in_environment = [e for e in entries if e.details.get("environment") == environment.value]
        return MonthlyUsage(
            tenant_id=tenant_id,
            environment=environment,
            period=period,
            submissions=sum(1 for e in events if e.kind is UsageKind.SUBMISSION),
            runs=len(runs),
            run_seconds=sum((e.duration_ms or 0) for e in runs) // 1000,
            audited_submissions=sum(1 for e in in_environment if e.action == "task_submitted"),
            audited_runs=sum(1 for e in in_environment if e.action in RUN_END_ACTIONS),
            reconciled_at=self._now(),
        )

    def _report(self, month: MonthlyUsage) -> None:
        details = {
            "period": month.period,
            "environment": month.environment.value,
            "submissions": month.submissions,
            "audited_submissions": month.audited_submissions,
            "runs": month.runs,
            "audited_runs": month.audited_runs,
        }
        logger.warning("usage does not match the audit trail", extra=details)
        self._audit.record(
            AuditEntry(
                tenant_id=month.tenant_id,
                action="usage.mismatch",
                resource=f"usage/{month.environment.value}/{month.period}",
                request_id=f"reconcile-{month.period}",
                details=details,
            )
        )

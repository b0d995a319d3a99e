"""Usage reconciliation on moto: monthly totals from usage events, checked against the audit
trail; an injected difference is found and recorded; past months are served from totals."""

from datetime import timedelta
from uuid import UUID

from outpost.data.audit import AuditRepository
from outpost.data.tenants import TenantRepository
from outpost.data.usage import UsageRepository
from outpost.models import Environment, Scope
from outpost.models.common import utc_now
from outpost.models.usage import UsageKind, UsageRecord
from outpost.services.audit import AuditService
from outpost.services.reconciliation import Reconciler
from tests.unit.api import Api, principal

TASK = {"repo": "octo-org/hello-world", "task": "Add a README", "executor": "claude"}


def reconciler(api: Api) -> tuple[Reconciler, AuditRepository, UsageRepository]:
    audit = AuditRepository(api.store.client, api.store.audit, timedelta(days=90))
    usage = UsageRepository(api.store.client, api.store.usage)
    return (
        Reconciler(
            tenants=TenantRepository(api.store.client, api.store.tenants),
            usage=usage,
            audit_entries=audit,
            audit=AuditService([audit.put]),
        ),
        audit,
        usage,
    )


def test_matching_months_are_totalled_and_an_injected_difference_is_recorded(api: Api) -> None:
    honest = principal(UUID(api.new_tenant("honest@acme.example")["tenant_id"]))
    drifted = principal(UUID(api.new_tenant("drifted@acme.example")["tenant_id"]))
    for caller in (honest, drifted):
        for _ in range(2):
            assert api.call("POST", "/v1/tasks", caller, TASK)[0] == 202
    period = utc_now().strftime("%Y-%m")
    check, audit, usage = reconciler(api)
    # A submission metered without its audit entry: what reconciliation is for.
    usage.record(
        UsageRecord(
            tenant_id=drifted.tenant_id,
            environment=Environment.LIVE,
            kind=UsageKind.SUBMISSION,
            task_id="tsk_" + "0" * 24,
        )
    )
    (mismatch,) = check.reconcile(period)
    assert (mismatch.tenant_id, mismatch.submissions, mismatch.audited_submissions) == (
        drifted.tenant_id,
        3,
        2,
    )
    totals = usage.month(honest.tenant_id, Environment.LIVE, period)
    assert (totals.submissions, totals.audited_submissions, totals.mismatched) == (2, 2, False)
    recorded = [e for e in audit.month(drifted.tenant_id, period) if e.action == "usage.mismatch"]
    assert recorded[0].details["submissions"] == 3
    assert not [e for e in audit.month(honest.tenant_id, period) if e.action == "usage.mismatch"]


def test_a_past_month_is_served_from_its_totals(api: Api) -> None:
    me = principal(
        UUID(api.new_tenant("history@acme.example")["tenant_id"]),
        Scope.USAGE_READ,
        Scope.TASKS_WRITE,
    )
    usage = UsageRepository(api.store.client, api.store.usage)
    past = (utc_now().replace(day=1) - timedelta(days=40)).replace(day=15)
    for _ in range(3):
        event = UsageRecord(
            tenant_id=me.tenant_id,
            environment=Environment.LIVE,
            kind=UsageKind.SUBMISSION,
            task_id="tsk_" + "1" * 24,
            occurred_at=past,
        )
        usage.record(event)
    period = past.strftime("%Y-%m")
    status, body = api.call("GET", "/v1/usage", me, query={"period": period})
    assert (status, body["period"], body["requests"], body["today"]) == (200, period, 3, None)
    reconciler(api)[0].reconcile(period)
    assert api.call("GET", "/v1/usage", me, query={"period": period})[1]["requests"] == 3
    assert api.call("GET", "/v1/usage", me, query={"period": "2026-13"})[0] == 422
    assert api.call("GET", "/v1/usage", me, query={"period": "2999-01"})[0] == 400

"""Scheduled (daily in the cloud, each minute locally): reconcile this month's and last
month's usage with the audit trail, and store each tenant's monthly totals."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from pydantic import Field

from outpost.data.tables import TENANTS, USAGE
from outpost.data.tenants import TenantRepository
from outpost.data.usage import UsageRepository
from outpost.models.common import utc_now
from outpost.services.audit import AuditSettings
from outpost.services.reconciliation import Reconciler
from outpost.tracing import tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="outpost")


class ReconcilerSettings(AuditSettings):
    tenants_table: str = Field(alias=TENANTS.env_var)
    usage_table: str = Field(alias=USAGE.env_var)


@cache
def _reconciler() -> Reconciler:
    settings = ReconcilerSettings.from_environ()
    dynamodb = boto3.client("dynamodb")
    return Reconciler(
        tenants=TenantRepository(dynamodb, settings.tenants_table),
        usage=UsageRepository(dynamodb, settings.usage_table),
        audit_entries=settings.audit_repository(dynamodb),
        audit=settings.audit_service(dynamodb, boto3.client("sqs")),
    )


def periods_to_check() -> list[str]:
    """This month, and the last one (whose last day's events may have arrived late)."""
    today = utc_now()
    last_month = today.replace(day=1) - timedelta(days=1)
    return [last_month.strftime("%Y-%m"), today.strftime("%Y-%m")]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    mismatched = sum(len(_reconciler().reconcile(period)) for period in periods_to_check())
    return {"mismatched": mismatched}

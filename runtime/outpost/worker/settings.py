"""The worker's settings, from its environment (the WorkerPool construct and local mode set it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from outpost.data.buckets import RUNS
from outpost.data.tables import TASKS, TENANTS
from outpost.models.secret import Provider
from outpost.models.tier import Tier
from outpost.services.audit import AuditSettings
from outpost.services.dispatch import TaskQueueSettings
from outpost.services.secrets import TenantSecretsSettings

Seconds = Annotated[int, Field(ge=1)]

# The base URL a provider's CLI is pointed at, when set: OUTPOST_<PROVIDER>_BASE_URL.
BASE_URL_VARIABLES = {
    provider: f"OUTPOST_{provider.value.upper()}_BASE_URL" for provider in Provider
}


class WorkerSettings(AuditSettings, TaskQueueSettings, TenantSecretsSettings):
    tasks_table: str = Field(alias=TASKS.env_var)
    tenants_table: str = Field(alias=TENANTS.env_var)
    runs_bucket: str = Field(alias=RUNS.env_var)
    git_base_url: str = Field(alias="OUTPOST_GIT_BASE_URL", default="https://github.com")
    workspace_root: Path = Field(alias="OUTPOST_WORKSPACE_ROOT", default=Path("/workspace"))
    agent_user: str = Field(alias="OUTPOST_AGENT_USER", default="agent")
    jobs_per_worker: int = Field(
        alias="OUTPOST_JOBS_PER_WORKER", default=0, ge=0, description="0: no limit."
    )
    lease_seconds: Seconds = Field(alias="OUTPOST_LEASE_SECONDS", default=120)
    heartbeat_seconds: Seconds = Field(alias="OUTPOST_HEARTBEAT_SECONDS", default=30)
    poll_wait_seconds: Annotated[int, Field(ge=0, le=20)] = Field(
        alias="OUTPOST_POLL_WAIT_SECONDS", default=10
    )
    slot_wait_seconds: Annotated[int, Field(ge=0, le=900)] = Field(
        alias="OUTPOST_SLOT_WAIT_SECONDS", default=30
    )
    retry_backoff_seconds: Seconds = Field(alias="OUTPOST_RETRY_BACKOFF_SECONDS", default=30)
    free_run_timeout: Seconds = Field(alias="OUTPOST_RUN_TIMEOUT_FREE", default=600)
    pro_run_timeout: Seconds = Field(alias="OUTPOST_RUN_TIMEOUT_PRO", default=1800)
    enterprise_run_timeout: Seconds = Field(alias="OUTPOST_RUN_TIMEOUT_ENTERPRISE", default=3600)
    base_urls: dict[Provider, str] = Field(
        default_factory=dict, description="From OUTPOST_<PROVIDER>_BASE_URL variables."
    )

    @model_validator(mode="before")
    @classmethod
    def _collect_base_urls(cls, data: object) -> object:
        """A worker setting, never tenant input: it lets tests point real CLIs at a fake."""
        if isinstance(data, dict):
            found = {p: data[v] for p, v in BASE_URL_VARIABLES.items() if data.get(v)}
            data = {**data, "base_urls": found}
        return data

    def run_timeout(self, tier: Tier) -> int:
        return {
            Tier.FREE: self.free_run_timeout,
            Tier.PRO: self.pro_run_timeout,
            Tier.ENTERPRISE: self.enterprise_run_timeout,
        }[tier]

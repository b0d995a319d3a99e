"""Typed, frozen per-environment settings, read from the ``outpost`` context in cdk.json.

Each environment is the ``defaults`` block with that environment's overrides merged on top,
so a difference between environments is a value here, never a branch inside a construct.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outpost.models.tier import TIERS, Tier, TierLimits

CONTEXT_KEY = "outpost"
ENVIRONMENT_NAME = r"^[a-z][a-z0-9]{1,15}$"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LambdaSettings(Settings):
    runtime: Annotated[str, Field(pattern=r"^python3\.\d+$")] = "python3.14"
    architecture: Literal["x86_64", "arm64"] = "arm64"
    memory_mb: Annotated[int, Field(ge=128, le=10240)] = 512
    timeout_seconds: Annotated[int, Field(ge=1, le=900)] = 29

    @field_validator("runtime")
    @classmethod
    def _known_runtime(cls, value: str) -> str:
        if not hasattr(lambda_.Runtime, _runtime_attribute(value)):
            raise ValueError(f"aws-cdk-lib does not know the Lambda runtime {value}")
        return value

    @property
    def lambda_runtime(self) -> lambda_.Runtime:
        runtime: lambda_.Runtime = getattr(lambda_.Runtime, _runtime_attribute(self.runtime))
        return runtime

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def lambda_architecture(self) -> lambda_.Architecture:
        return (
            lambda_.Architecture.ARM_64
            if self.architecture == "arm64"
            else (lambda_.Architecture.X86_64)
        )


def _runtime_attribute(runtime: str) -> str:
    return runtime.upper().replace("PYTHON", "PYTHON_").replace(".", "_")


class QueueSettings(Settings):
    visibility_timeout_seconds: Annotated[int, Field(ge=30, le=43_200)] = 900
    retention_days: Annotated[int, Field(ge=1, le=14)] = 14


class RunTimeouts(Settings):
    """How long an agent may run, by tier (the worker stops it after that)."""

    free: Annotated[int, Field(ge=60, le=43_200)] = 600
    pro: Annotated[int, Field(ge=60, le=43_200)] = 1800
    enterprise: Annotated[int, Field(ge=60, le=43_200)] = 3600


class WorkerSettings(Settings):
    min_capacity: Annotated[int, Field(ge=0)] = 0
    max_capacity: Annotated[int, Field(ge=1, le=500)] = 50
    cpu: Literal[256, 512, 1024, 2048, 4096] = 512
    memory_mib: Annotated[int, Field(ge=512, le=30_720)] = 1024
    fargate_spot: bool = False
    nat_gateways: Annotated[int, Field(ge=1, le=3)] = 1
    # Interface endpoints (SQS, Secrets Manager, ECR, Logs, ECS) keep AWS traffic off the NAT;
    # each costs about $7 a month per AZ, so dev may go without.
    interface_endpoints: bool = True
    jobs_per_worker: Annotated[int, Field(ge=1)] = 1
    # Queued messages per worker the pool scales towards.
    messages_per_worker: Annotated[int, Field(ge=1)] = 5
    run_timeouts: RunTimeouts = Field(default_factory=RunTimeouts)
    artifacts_retention_days: Annotated[int, Field(ge=1)] = 30


class BillingSettings(Settings):
    """Stripe prices and the pages customers return to; the keys live in Secrets Manager."""

    pro_price: str = "price_pro"
    enterprise_price: str = "price_enterprise"
    success_url: str = "https://outpost.example/billing/done"
    cancel_url: str = "https://outpost.example/billing"
    portal_return_url: str = "https://outpost.example/billing"


class AlarmSettings(Settings):
    email: str | None = Field(default=None, description="Subscribed to the alarm topic if set.")
    dlq_depth: Annotated[int, Field(ge=1)] = 10
    oldest_message_age_seconds: Annotated[int, Field(ge=60)] = 900
    authorizer_p99_ms: Annotated[int, Field(ge=1)] = 50
    api_5xx_percent: Annotated[float, Field(gt=0, le=100)] = 1.0
    # Runs ending failed within 15 minutes (the agents' own failures included).
    run_failures: Annotated[int, Field(ge=0)] = 10
    # ERROR lines in the worker log within 5 minutes.
    worker_error_lines: Annotated[int, Field(ge=0)] = 0


class ApiSettings(Settings):
    throttle_rate_per_second: Annotated[float, Field(gt=0)] = 100
    throttle_burst: Annotated[int, Field(ge=1)] = 200
    authorizer_cache_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    # The authorizer function's own in-memory cache of allows: the worst-case delay before a
    # revoked key stops working (API Gateway's cache is flushed on revocation).
    authorizer_allow_cache_seconds: Annotated[int, Field(ge=0, le=300)] = 30
    authorizer_deny_cache_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    waf: bool = True


class EnvironmentSettings(Settings):
    name: Annotated[str, Field(pattern=ENVIRONMENT_NAME)]
    removal_policy: Literal["destroy", "retain"] = "retain"
    log_retention: str = "ONE_MONTH"
    audit_retention_days: Annotated[int, Field(ge=1)] = 90
    # Object lock (governance mode) on each archived audit entry.
    audit_archive_lock_days: Annotated[int, Field(ge=1)] = 365
    lambda_: LambdaSettings = Field(default_factory=LambdaSettings, alias="lambda")
    queues: QueueSettings = Field(default_factory=QueueSettings)
    workers: WorkerSettings = Field(default_factory=WorkerSettings)
    alarms: AlarmSettings = Field(default_factory=AlarmSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @field_validator("log_retention")
    @classmethod
    def _known_retention(cls, value: str) -> str:
        if value not in logs.RetentionDays.__members__:
            raise ValueError(
                f"log_retention must be one of {sorted(logs.RetentionDays.__members__)}"
            )
        return value

    @property
    def stack_name(self) -> str:
        return f"Outpost-{self.name}"

    @property
    def cdk_removal_policy(self) -> RemovalPolicy:
        return RemovalPolicy.DESTROY if self.removal_policy == "destroy" else RemovalPolicy.RETAIN

    @property
    def log_retention_days(self) -> logs.RetentionDays:
        return logs.RetentionDays[self.log_retention]

    @property
    def tiers(self) -> Mapping[Tier, TierLimits]:
        """The tier table is the product's, identical everywhere: runtime code owns it."""
        return TIERS


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_environments(context: Mapping[str, Any]) -> Mapping[str, EnvironmentSettings]:
    """Every environment the ``outpost`` context declares, validated."""
    defaults = context.get("defaults", {})
    environments = context.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ValueError(f"cdk.json context '{CONTEXT_KEY}.environments' declares no environment")
    return MappingProxyType(
        {
            name: EnvironmentSettings.model_validate(_merge(defaults, overrides) | {"name": name})
            for name, overrides in environments.items()
        }
    )

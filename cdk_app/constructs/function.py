"""A Lambda function running a handler of the runtime package, with its own role and logs."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.bundling import runtime_code


def log_group(scope: Construct, construct_id: str, settings: EnvironmentSettings) -> logs.LogGroup:
    """A log group with the environment's retention and removal policy."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=settings.log_retention_days,
        removal_policy=settings.cdk_removal_policy,
    )


class RuntimeFunction(Construct):
    """A function with a role of its own (no managed policies: it gets what it is granted)
    and a log group with the environment's retention."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        handler: str,
        description: str,
        environment: Mapping[str, str] | None = None,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", settings)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Outpost {settings.name}: {description}",
        )
        self.log_group.grant_write(self.role)
        lambda_settings = settings.lambda_
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=lambda_settings.lambda_runtime,
            architecture=lambda_settings.lambda_architecture,
            code=runtime_code(lambda_settings),
            handler=handler,
            role=self.role,
            log_group=self.log_group,
            memory_size=lambda_settings.memory_mb,
            timeout=timeout or Duration.seconds(lambda_settings.timeout_seconds),
            environment={
                "POWERTOOLS_SERVICE_NAME": "outpost",
                "OUTPOST_ENVIRONMENT": settings.name,
                **(environment or {}),
            },
            # X-Ray traces of every invocation, from Lambda itself: no SDK in the bundle.
            tracing=lambda_.Tracing.ACTIVE,
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray's PutTraceSegments and PutTelemetryRecords, granted by CDK for "
                "active tracing, have no resource-level form.",
            )
        )

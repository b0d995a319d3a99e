"""WorkerPool: the Fargate service that runs the worker, scaled on the tier queues' backlog,
in a VPC of its own; and the runs bucket its artifacts go to.

Scaling is step scaling on the backlog (runs waiting or in flight, all tiers), with exact
capacities in coarse bands of about one worker per ``messages_per_worker`` runs: a backlog
alarm evaluated each minute sets the band's capacity at once (so 0 -> max takes one alarm
period, not a climb), and a second alarm, after five quiet minutes, sets the minimum. ECS
task protection (held by each worker while its job runs) keeps scale-in from stopping a busy
worker: only idle ones go.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from aws_cdk import Acknowledgment, Aws, Duration, IgnoreMode, Stack, Validations
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.buckets import private_bucket
from cdk_app.constructs.function import log_group
from cdk_app.constructs.grants import grant_key
from outpost.data.buckets import RUNS

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "worker_image/Dockerfile"
# Fargate gives a task at most this long between SIGTERM and SIGKILL.
STOP_TIMEOUT = Duration.seconds(120)
SCALE_OUT_COOLDOWN = Duration.minutes(1)
SCALE_IN_COOLDOWN = Duration.minutes(5)
QUIET_PERIODS_BEFORE_SCALE_IN = 5


@dataclass(frozen=True)
class ScalingBand:
    """From ``backlog`` runs outstanding upwards, run ``capacity`` workers."""

    backlog: int
    capacity: int


def scaling_bands(max_capacity: int, messages_per_worker: int) -> list[ScalingBand]:
    """Capacities doubling up to the maximum (1, 2, 4, … max), each from the backlog that
    needs it at ``messages_per_worker`` runs per worker. At most 10 bands: CDK takes 2 to 40."""
    capacities = [2**power for power in range(math.ceil(math.log2(max_capacity)))]
    capacities = [c for c in capacities if c < max_capacity] + [max_capacity]
    return [ScalingBand((c - 1) * messages_per_worker + 1, c) for c in capacities]


class WorkerPool(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        encryption_key: kms.IKey,
        access_logs: s3.IBucket,
        backlog: cloudwatch.IMetric,
        environment: Mapping[str, str],
    ) -> None:
        """``backlog``: the metric the pool scales on (the TaskQueue's); ``environment``: what
        the worker reads (tables, queues, audit trail; the stack grants their access)."""
        super().__init__(scope, construct_id)
        workers = settings.workers
        self._key = encryption_key
        self.artifacts = private_bucket(
            self,
            "Runs",
            settings=settings,
            encryption_key=encryption_key,
            access_logs=access_logs,
            access_log_prefix="runs/",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(workers.artifacts_retention_days))
            ],
        )

        flow_logs = log_group(self, "FlowLogs", settings)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=workers.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="workers", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )

        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=workers.cpu,
            memory_limit_mib=workers.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.task_role = self.task_definition.task_role
        self.log_group = log_group(self, "Logs", settings)
        self.container = self.task_definition.add_container(
            "Worker",
            image=ecs.ContainerImage.from_asset(
                str(REPOSITORY_ROOT), file=DOCKERFILE, ignore_mode=IgnoreMode.DOCKER
            ),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=self.log_group),
            stop_timeout=STOP_TIMEOUT,
            environment={
                **environment,
                RUNS.env_var: self.artifacts.bucket_name,
                "OUTPOST_ENVIRONMENT": settings.name,
                "OUTPOST_JOBS_PER_WORKER": str(workers.jobs_per_worker),
                "OUTPOST_RUN_TIMEOUT_FREE": str(workers.run_timeouts.free),
                "OUTPOST_RUN_TIMEOUT_PRO": str(workers.run_timeouts.pro),
                "OUTPOST_RUN_TIMEOUT_ENTERPRISE": str(workers.run_timeouts.enterprise),
                "POWERTOOLS_SERVICE_NAME": "outpost",
            },
        )
        security_group = ec2.SecurityGroup(
            self,
            "WorkerSecurityGroup",
            vpc=self.vpc,
            description="Outpost workers: no inbound; outbound to GitHub, model APIs and AWS",
            allow_all_outbound=True,
        )
        self._add_endpoints(interface=workers.interface_endpoints, workers=security_group)
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=workers.min_capacity,
            min_healthy_percent=0,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[security_group],
            assign_public_ip=False,
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(
                    capacity_provider="FARGATE_SPOT" if workers.fargate_spot else "FARGATE",
                    weight=1,
                )
            ],
        )
        self.cluster.enable_fargate_capacity_providers()
        self._grant_worker_essentials()
        self._scale(settings, backlog)
        self._acknowledge()

    def _add_endpoints(self, *, interface: bool, workers: ec2.ISecurityGroup) -> None:
        """S3 and DynamoDB through gateway endpoints (free); the rest through interface
        endpoints when configured (HTTPS from the workers only), else through the NAT."""
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        if not interface:
            return
        endpoints = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Outpost interface endpoints: HTTPS from the workers only",
            allow_all_outbound=False,
        )
        endpoints.add_ingress_rule(workers, ec2.Port.tcp(443), "HTTPS from the workers")
        for name, service in (
            ("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS),
            ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
            ("Ecr", ec2.InterfaceVpcEndpointAwsService.ECR),
            ("EcrDocker", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER),
            ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
            ("Ecs", ec2.InterfaceVpcEndpointAwsService.ECS),
        ):
            self.vpc.add_interface_endpoint(
                name, service=service, security_groups=[endpoints], open=False
            )

    def _grant_worker_essentials(self) -> None:
        """What the worker needs of this construct's own resources: put its runs' artifacts,
        and protect its own task from scale-in."""
        self.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.artifacts.arn_for_objects("runs/*")]
            )
        )
        grant_key(self.task_role, self._key, write=True)
        self.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:UpdateTaskProtection"],
                resources=[
                    f"arn:{Aws.PARTITION}:ecs:{Aws.REGION}:{Aws.ACCOUNT_ID}:task/"
                    f"{self.cluster.cluster_name}/*"
                ],
            )
        )

    def grant_artifact_links(self, role: iam.IRole) -> None:
        """The task API: sign links to runs' output.log (the link carries this role's access)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self.artifacts.arn_for_objects("runs/*")]
            )
        )
        grant_key(role, self._key, write=False)
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{self._artifacts_objects_id()}]",
                reason="GetObject under runs/ only: one object per run artifact, named at run "
                "time; the handler signs links only to the caller's own runs.",
            )
        )

    def _scale(self, settings: EnvironmentSettings, backlog: cloudwatch.IMetric) -> None:
        workers = settings.workers
        target = autoscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=autoscaling.ServiceNamespace.ECS,
            resource_id=f"service/{self.cluster.cluster_name}/{self.service.service_name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=workers.min_capacity,
            max_capacity=workers.max_capacity,
        )
        bands = scaling_bands(workers.max_capacity, workers.messages_per_worker)
        threshold = bands[0].backlog
        scale_out = autoscaling.StepScalingAction(
            self,
            "ScaleOut",
            scaling_target=target,
            adjustment_type=autoscaling.AdjustmentType.EXACT_CAPACITY,
            cooldown=SCALE_OUT_COOLDOWN,
            metric_aggregation_type=autoscaling.MetricAggregationType.MAXIMUM,
        )
        for band, following in zip(bands, [*bands[1:], None], strict=True):
            scale_out.add_adjustment(
                adjustment=band.capacity,
                lower_bound=band.backlog - threshold,
                upper_bound=following.backlog - threshold if following else None,
            )
        self.scale_out_alarm = cloudwatch.Alarm(
            self,
            "BacklogAlarm",
            alarm_description="Runs are outstanding: size the worker pool to the backlog",
            metric=backlog,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.scale_out_alarm.add_alarm_action(
            cloudwatch_actions.ApplicationScalingAction(scale_out)
        )

        scale_in = autoscaling.StepScalingAction(
            self,
            "ScaleIn",
            scaling_target=target,
            adjustment_type=autoscaling.AdjustmentType.EXACT_CAPACITY,
            cooldown=SCALE_IN_COOLDOWN,
            metric_aggregation_type=autoscaling.MetricAggregationType.MAXIMUM,
        )
        scale_in.add_adjustment(adjustment=workers.min_capacity, upper_bound=0)
        self.scale_in_alarm = cloudwatch.Alarm(
            self,
            "IdleAlarm",
            alarm_description="No run outstanding for five minutes: back to the minimum",
            metric=backlog,
            threshold=0,
            evaluation_periods=QUIET_PERIODS_BEFORE_SCALE_IN,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.scale_in_alarm.add_alarm_action(cloudwatch_actions.ApplicationScalingAction(scale_in))

    def _artifacts_objects_id(self) -> str:
        """How cdk-nag names this bucket's ``runs/*`` objects in a finding."""
        bucket = cast("s3.CfnBucket", self.artifacts.node.default_child)
        return f"<{Stack.of(self).get_logical_id(bucket)}.Arn>/runs/*"

    def _acknowledge(self) -> None:
        """Findings this design accepts, each on its own resource, with its reason."""
        Validations.of(self.task_definition).acknowledge(
            Acknowledgment(
                id="AwsSolutions-ECS2",
                reason="The worker's environment holds resource names and timings only; "
                "tenants' keys are read from Secrets Manager per run, never put in it.",
            )
        )
        Validations.of(self.task_role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{self._artifacts_objects_id()}]",
                reason="PutObject under runs/ only: each run's artifacts are objects named at "
                "run time (runs/<tenant>/<run>/…).",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:"
                f"<AWS::AccountId>:task/<{self._cluster_id()}>/*]",
                reason="UpdateTaskProtection on this cluster's tasks: a worker protects its own "
                "task, whose id exists only at run time.",
            ),
        )
        execution_role = self.task_definition.execution_role
        if execution_role is not None:
            Validations.of(execution_role).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="ecr:GetAuthorizationToken, granted by CDK to pull the worker image, "
                    "has no resource-level form.",
                )
            )

    def _cluster_id(self) -> str:
        cluster = cast("ecs.CfnCluster", self.cluster.node.default_child)
        return Stack.of(self).get_logical_id(cluster)

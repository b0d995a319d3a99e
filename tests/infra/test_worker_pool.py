"""WorkerPool: the Fargate service, its VPC and endpoints, its exact task role, the runs
bucket, and scaling that reaches the maximum within five minutes by its own arithmetic."""

import math
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdk_app.application import cdk_json_context
from cdk_app.config import load_environments
from cdk_app.constructs.worker_pool import scaling_bands
from tests.infra.conftest import ENVIRONMENTS

SETTINGS = load_environments(cdk_json_context()["outpost"])


def one(template: Template, kind: str) -> dict[str, Any]:
    (resource,) = template.find_resources(kind).values()
    return resource["Properties"]


def worker_container(template: Template) -> dict[str, Any]:
    (container,) = one(template, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    return container


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_task_definition_follows_the_config(templates: dict[str, Template], env: str) -> None:
    workers = SETTINGS[env].workers
    task = one(templates[env], "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == (str(workers.cpu), str(workers.memory_mib))
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    container = worker_container(templates[env])
    assert container["StopTimeout"] == 120
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    variables = {v["Name"]: v["Value"] for v in container["Environment"]}
    assert variables["OUTPOST_JOBS_PER_WORKER"] == str(workers.jobs_per_worker)
    assert variables["OUTPOST_RUN_TIMEOUT_FREE"] == str(workers.run_timeouts.free)
    assert variables["OUTPOST_ENVIRONMENT"] == env
    for name in (
        "OUTPOST_TASKS_TABLE",
        "OUTPOST_JOBS_FREE_QUEUE_URL",
        "OUTPOST_RUNS_BUCKET",
        "OUTPOST_SECRETS_KMS_KEY",
    ):
        assert name in variables
    assert not any("SECRET_VALUE" in name or name.endswith("_API_KEY") for name in variables)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_has_container_insights_and_the_service_is_private(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    settings = one(template, "AWS::ECS::Cluster")["ClusterSettings"]
    assert {"Name": "containerInsights", "Value": "enabled"} in settings
    service = one(template, "AWS::ECS::Service")
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    provider = "FARGATE_SPOT" if SETTINGS[env].workers.fargate_spot else "FARGATE"
    assert service["CapacityProviderStrategy"] == [{"CapacityProvider": provider, "Weight": 1}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vpc_nat_gateways_and_endpoints_follow_the_config(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    workers = SETTINGS[env].workers
    assert len(template.find_resources("AWS::EC2::NatGateway")) == workers.nat_gateways
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint").values()
    kinds = [e["Properties"].get("VpcEndpointType", "Gateway") for e in endpoints]
    assert kinds.count("Gateway") == 2  # S3 and DynamoDB, free
    assert kinds.count("Interface") == (6 if workers.interface_endpoints else 0)
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})
    if workers.interface_endpoints:
        rules = template.find_resources("AWS::EC2::SecurityGroupIngress").values()
        assert all("SourceSecurityGroupId" in r["Properties"] for r in rules), "no CIDR ingress"


def task_role_actions(template: Template) -> set[str]:
    task = one(template, "AWS::ECS::TaskDefinition")
    role_id = task["TaskRoleArn"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                action = statement["Action"]
                actions.update(action if isinstance(action, list) else [action])
    return actions


def test_the_worker_role_has_exactly_what_the_worker_needs(templates: dict[str, Template]) -> None:
    assert task_role_actions(templates["prod"]) == {
        # runs and usage: claim, renew, end; usage events and slots; the indexes it queries
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        # the tier queues: receive, extend, delete, and re-send a run that waits for a slot
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes", "sqs:SendMessage",
        # the run's tenant's keys, read only
        "secretsmanager:GetSecretValue",
        # artifacts under runs/, and its own task's scale-in protection
        "s3:PutObject", "ecs:UpdateTaskProtection",
        "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
    }  # fmt: skip


def test_the_runs_bucket_is_private_encrypted_and_expires(templates: dict[str, Template]) -> None:
    template = templates["prod"]
    buckets = template.find_resources("AWS::S3::Bucket")
    (runs,) = [b for name, b in buckets.items() if name.startswith("WorkersRuns")]
    props = runs["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == SETTINGS["prod"].workers.artifacts_retention_days
    assert "LoggingConfiguration" in props


def policies(template: Template, kind: str) -> list[dict[str, Any]]:
    return [p["Properties"] for p in template.find_resources(kind).values()]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_scaling_bands_and_the_zero_to_max_path_within_five_minutes(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    workers = SETTINGS[env].workers
    target = one(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (
        workers.min_capacity,
        workers.max_capacity,
    )
    steps = {
        p["PolicyName"]: p["StepScalingPolicyConfiguration"]
        for p in policies(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    }
    (out,) = [c for n, c in steps.items() if "ScaleOut" in n]
    (in_,) = [c for n, c in steps.items() if "ScaleIn" in n]
    assert (out["AdjustmentType"], out["Cooldown"]) == ("ExactCapacity", 60)
    assert (in_["AdjustmentType"], in_["Cooldown"]) == ("ExactCapacity", 300)
    assert 2 <= len(out["StepAdjustments"]) <= 40
    alarms = {a["AlarmDescription"]: a for a in policies(template, "AWS::CloudWatch::Alarm")}
    (backlog_alarm,) = [a for d, a in alarms.items() if d.startswith("Runs are outstanding")]
    threshold = backlog_alarm["Threshold"]
    # About one worker per messages_per_worker runs: each band's capacity covers its backlog.
    for step in out["StepAdjustments"]:
        lowest_backlog = threshold + step["MetricIntervalLowerBound"]
        assert step["ScalingAdjustment"] >= (lowest_backlog - 1) / workers.messages_per_worker
    top = max(out["StepAdjustments"], key=lambda s: s["MetricIntervalLowerBound"])
    assert top["ScalingAdjustment"] == workers.max_capacity
    assert "MetricIntervalUpperBound" not in top
    # 0 -> max: the alarm's evaluation, then one exact adjustment to the top band; each further
    # adjustment would wait a cooldown. The top band is reached by the first one.
    period = backlog_alarm["Metrics"][0].get("Period") or max(
        m["MetricStat"]["Period"] for m in backlog_alarm["Metrics"] if "MetricStat" in m
    )
    biggest_step = max(step["ScalingAdjustment"] for step in out["StepAdjustments"])
    adjustments_needed = (
        1  # an exact capacity jumps straight to the band's size
        if out["AdjustmentType"] == "ExactCapacity"
        else math.ceil(workers.max_capacity / biggest_step)
    )
    seconds = (
        period * backlog_alarm["EvaluationPeriods"] + (adjustments_needed - 1) * out["Cooldown"]
    )
    assert seconds <= 300
    (idle_alarm,) = [a for d, a in alarms.items() if d.startswith("No run outstanding")]
    assert idle_alarm["EvaluationPeriods"] == 5
    assert in_["StepAdjustments"] == [
        {"MetricIntervalUpperBound": 0, "ScalingAdjustment": workers.min_capacity}
    ]


def test_bands_double_to_the_maximum() -> None:
    bands = scaling_bands(50, 5)
    assert [(b.backlog, b.capacity) for b in bands] == [
        (1, 1), (6, 2), (16, 4), (36, 8), (76, 16), (156, 32), (246, 50),
    ]  # fmt: skip
    assert [(b.backlog, b.capacity) for b in scaling_bands(1, 5)] == [(1, 1)]


def test_the_backlog_counts_waiting_and_running_runs(templates: dict[str, Template]) -> None:
    alarms = policies(templates["prod"], "AWS::CloudWatch::Alarm")
    (backlog_alarm,) = [
        a for a in alarms if a.get("AlarmDescription", "").startswith("Runs are outstanding")
    ]
    names = {
        m["MetricStat"]["Metric"]["MetricName"]
        for m in backlog_alarm["Metrics"]
        if "MetricStat" in m
    }
    assert names == {"ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible"}

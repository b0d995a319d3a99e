"""TaskQueue: tier queues with a shared DLQ, timings from config, alarms, exact grants."""

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from cdk_app.application import cdk_json_context
from cdk_app.config import load_environments
from cdk_app.constructs.task_queue import TaskQueue
from outpost.data.queues import TASK_QUEUES
from outpost.models.tier import Tier
from tests.infra.conftest import ENVIRONMENTS


def queue(template: Template, name: str) -> tuple[str, dict[str, Any]]:
    found = template.find_resources("AWS::SQS::Queue", {"Properties": {"QueueName": name}})
    ((logical_id, resource),) = found.items()
    return logical_id, resource["Properties"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("tier", list(Tier))
def test_tier_queue_is_named_encrypted_timed_and_dead_letters_after_three(
    templates: dict[str, Template], env: str, tier: Tier
) -> None:
    template = templates[env]
    spec = TASK_QUEUES[tier]
    assert spec.queue_name(env) == f"outpost-jobs-{tier.value}-{env}"
    dlq_id, _ = queue(template, f"outpost-jobs-dlq-{env}")
    _, props = queue(template, spec.queue_name(env))
    assert props["VisibilityTimeout"] == 900
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 3,
    }
    (key_id,) = template.find_resources("AWS::KMS::Key")
    assert props["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_queue_refuses_plain_http(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    covered = set()
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )
        covered.update(q["Ref"] for q in policy["Properties"]["Queues"])
    assert covered == set(template.find_resources("AWS::SQS::Queue"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarms_on_dead_letters_and_waiting_tasks(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    topic = next(iter(template.find_resources("AWS::SNS::Topic")))
    scaling = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    alarms = {
        name: alarm
        for name, alarm in template.find_resources("AWS::CloudWatch::Alarm").items()
        if not any(action.get("Ref") in scaling for action in alarm["Properties"]["AlarmActions"])
    }
    on_topic = [
        a["Properties"]
        for a in alarms.values()
        if a["Properties"]["AlarmActions"] == [{"Ref": topic}]
    ]
    # Every alarm that is not the worker pool's scaling signal pages the operators.
    assert len(on_topic) == len(alarms)
    dlq = [a for a in on_topic if "jobs-dlq" in a["AlarmDescription"]]
    assert [a["Threshold"] for a in dlq] == [10]
    ages = [a for a in on_topic if a.get("MetricName") == "ApproximateAgeOfOldestMessage"]
    assert len(ages) == len(Tier)
    assert {a["Threshold"] for a in ages} == {900}


@pytest.fixture(scope="module")
def probe() -> tuple[Stack, TaskQueue]:
    """A TaskQueue on its own, to read what its grants and metrics give."""
    settings = load_environments(cdk_json_context()["outpost"])["dev"]
    stack = Stack(App(), "QueueProbe")
    queues = TaskQueue(
        stack,
        "Queues",
        settings=settings,
        encryption_key=kms.Key(stack, "Key"),
        alarm_topic=sns.Topic(stack, "Topic"),
        environment={},
    )
    return stack, queues


@pytest.fixture(scope="module")
def granted(probe: tuple[Stack, TaskQueue]) -> Template:
    stack, queues = probe
    for name, grant in (
        ("Sender", queues.grant_send),
        ("Worker", queues.grant_consume),
    ):
        grant(iam.Role(stack, name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")))
    return Template.from_stack(stack)


def actions(template: Template, role: str) -> set[str]:
    (policy,) = [
        p
        for n, p in template.find_resources("AWS::IAM::Policy").items()
        if n.startswith(f"{role}DefaultPolicy")
    ]
    found = set()
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        action = statement["Action"]
        found.update(action if isinstance(action, list) else [action])
    return found


def test_grants_are_exact(granted: Template) -> None:
    assert actions(granted, "Sender") == {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }
    worker = actions(granted, "Worker")
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= worker
    assert not any(a.endswith("*") for a in worker)
    assert "sqs:PurgeQueue" not in worker


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dead_letters_are_handled_and_never_re_sent(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    (handler_id,) = [
        name
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == "outpost.handlers.dead_letters.handler"
    ]
    (mapping,) = template.find_resources(
        "AWS::Lambda::EventSourceMapping", {"Properties": {"FunctionName": {"Ref": handler_id}}}
    ).values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (dlq_id,) = [
        name
        for name, q in template.find_resources("AWS::SQS::Queue").items()
        if q["Properties"]["QueueName"] == f"outpost-jobs-dlq-{env}"
    ]
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}
    role = template.find_resources("AWS::Lambda::Function")[handler_id]["Properties"]["Role"]
    role_id = role["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    job_queues = {
        name
        for name, q in template.find_resources("AWS::SQS::Queue").items()
        if q["Properties"]["QueueName"].startswith("outpost-jobs-")
    }
    for statement in statements:
        action = statement["Action"]
        if "sqs:SendMessage" in (action if isinstance(action, list) else [action]):
            # Only the audit buffer: a dead run is never put back on a jobs queue.
            assert not any(queue in json.dumps(statement["Resource"]) for queue in job_queues)


def test_backlog_sums_waiting_and_running_runs_of_every_tier_queue(
    probe: tuple[Stack, TaskQueue],
) -> None:
    backlog = probe[1].backlog()
    names = [f"{kind}{i}" for i in range(len(Tier)) for kind in ("waiting", "running")]
    assert backlog.expression == " + ".join(names)
    metrics = {name: metric.metric_name for name, metric in backlog.using_metrics.items()}
    assert sorted(set(metrics.values())) == [
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesVisible",
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_sweeper_runs_every_minute(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "outpost.handlers.sweeper.handler"}}
    )
    (sweeper,) = functions
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "State": "ENABLED",
            "Targets": [
                {
                    "Arn": {"Fn::GetAtt": [sweeper, "Arn"]},
                    "Id": "Target0",
                    "RetryPolicy": {"MaximumRetryAttempts": 0},
                }
            ],
        },
    )

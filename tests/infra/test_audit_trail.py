"""AuditTrail: append-only table, buffered writes, and an archive nobody can delete from."""

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from outpost.data.queues import AUDIT_BUFFER
from outpost.data.tables import AUDIT
from tests.infra.conftest import ENVIRONMENTS

MUTATIONS = {
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:*",
}


def logical_id(template: Template, kind: str, **properties: Any) -> str:
    (found,) = template.find_resources(kind, {"Properties": properties})
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_role_may_update_or_delete_audit_records(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    table = logical_id(template, "AWS::DynamoDB::Table", TableName=AUDIT.table_name(env))
    writers = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(table in str(resource) for resource in resources(statement)):
                assert not MUTATIONS & set(actions(statement)), statement
                if "dynamodb:PutItem" in actions(statement):
                    writers.append(statement)
    assert writers, "someone must be able to put audit entries"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_audit_table_streams_new_entries_and_expires_them(
    templates: dict[str, Template], env: str
) -> None:
    templates[env].has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": AUDIT.table_name(env),
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_buffer_is_encrypted_tls_only_and_dead_letters(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    dlq = logical_id(
        template, "AWS::SQS::Queue", QueueName=AUDIT_BUFFER.dead_letter_queue_name(env)
    )
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": AUDIT_BUFFER.queue_name(env),
            "KmsMasterKeyId": Match.any_value(),
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
                "maxReceiveCount": AUDIT_BUFFER.max_receive_count,
            },
        },
    )
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        (deny,) = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
        ]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionResponseTypes": ["ReportBatchItemFailures"], "BatchSize": 10},
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_archive_is_versioned_locked_retained_and_undeletable(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    archives = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"ObjectLockEnabled": True}}
    )
    ((archive_id, archive),) = archives.items()
    props = archive["Properties"]
    assert archive["DeletionPolicy"] == "Retain"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "GOVERNANCE",
        "Days": 365,
    }
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "audit-archive/"
    encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": archive_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Action": [
                                    "s3:DeleteObject",
                                    "s3:DeleteObjectVersion",
                                    "s3:PutLifecycleConfiguration",
                                ],
                            }
                        )
                    ]
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": True,
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dead_letters_alarm_on_the_alarm_topic(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    topic = next(iter(template.find_resources("AWS::SNS::Topic")))
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Threshold": 1,
            "AlarmActions": [{"Ref": topic}],
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )

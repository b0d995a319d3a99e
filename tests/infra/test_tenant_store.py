"""TenantStore: the tables match their runtime specs and carry the protections they must."""

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from cdk_app.application import cdk_json_context
from cdk_app.config import load_environments
from cdk_app.constructs.tenant_store import TenantStore
from outpost.data.tables import ALL_TABLES, TableSpec
from tests.infra.conftest import ENVIRONMENTS


def tables_of(template: Template) -> dict[str, dict[str, Any]]:
    found = template.find_resources("AWS::DynamoDB::Table")
    return {resource["Properties"]["TableName"]: resource for resource in found.values()}


def key_schema(spec_partition: str, spec_sort: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": spec_partition, "KeyType": "HASH"}]
    if spec_sort:
        schema.append({"AttributeName": spec_sort, "KeyType": "RANGE"})
    return schema


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.logical_id)
def test_table_matches_its_runtime_spec(
    templates: dict[str, Template], env: str, spec: TableSpec
) -> None:
    table = tables_of(templates[env])[spec.table_name(env)]
    props = table["Properties"]
    assert props["KeySchema"] == key_schema(spec.partition.name, spec.sort and spec.sort.name)
    indexes = {gsi["IndexName"]: gsi for gsi in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in spec.indexes}
    for index in spec.indexes:
        assert indexes[index.name]["KeySchema"] == key_schema(
            index.partition.name, index.sort and index.sort.name
        )
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {
            "AttributeName": spec.ttl_attribute,
            "Enabled": True,
        }
    else:
        assert "TimeToLiveSpecification" not in props


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tables_are_on_demand_recoverable_and_encrypted_with_the_stack_key(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    (key_id,) = template.find_resources("AWS::KMS::Key")
    tables = tables_of(template)
    assert {spec.table_name(env) for spec in ALL_TABLES} == set(tables)
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {
            "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            "SSEEnabled": True,
            "SSEType": "KMS",
        }


def test_prod_and_staging_retain_data_and_dev_does_not(templates: dict[str, Template]) -> None:
    for env, policy, protected in (
        ("prod", "Retain", True),
        ("staging", "Retain", True),
        ("dev", "Delete", False),
    ):
        template = templates[env]
        for kind in ("AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::Logs::LogGroup"):
            for resource in template.find_resources(kind).values():
                assert resource["DeletionPolicy"] == policy, (env, kind)
        for table in tables_of(template).values():
            assert table["Properties"].get("DeletionProtectionEnabled", False) is protected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_rotates_and_alarm_topic_is_encrypted_and_tls_only(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    (key_id,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    # CloudWatch may use the key, so that alarms can publish to the encrypted topic.
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_policy_allows_any_action_on_any_resource(
    templates: dict[str, Template], env: str
) -> None:
    for policy in templates[env].find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert not any(action == "*" or action.endswith(":*") for action in actions)


@pytest.fixture(scope="module")
def granted() -> Template:
    """A TenantStore whose grants are given to one role each, to read what each grant allows."""
    settings = load_environments(cdk_json_context()["outpost"])["dev"]
    stack = Stack(App(context={"aws:cdk:bundling-stacks": []}), "GrantProbe")
    store = TenantStore(stack, "Store", settings=settings, encryption_key=kms.Key(stack, "Key"))
    for name, grant in (
        ("TenantLookup", store.grant_tenant_lookup),
        ("KeyAuthentication", store.grant_key_authentication),
        ("TenantAdmin", store.grant_tenant_admin),
        ("TaskReads", store.grant_task_reads),
        ("TaskWrites", store.grant_task_writes),
        ("Idempotency", store.grant_idempotency),
        ("SecretsWrite", store.grant_secrets_write),
        ("SecretsRead", store.grant_secrets_read),
    ):
        grant(iam.Role(stack, name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")))
    return Template.from_stack(stack)


def statements_of(template: Template, role_name: str) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith(f"{role_name}DefaultPolicy")
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {
        a
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }


def test_key_authentication_reads_items_and_records_use_only(granted: Template) -> None:
    actions = actions_of(statements_of(granted, "KeyAuthentication"))
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }


def test_tenant_lookup_gets_one_table_item(granted: Template) -> None:
    assert actions_of(statements_of(granted, "TenantLookup")) == {"dynamodb:GetItem", "kms:Decrypt"}


def test_grants_name_indexes_exactly_and_never_delete(granted: Template) -> None:
    for role in ("TenantLookup", "KeyAuthentication", "TenantAdmin", "TaskReads", "TaskWrites"):
        statements = statements_of(granted, role)
        assert not any("Delete" in action for action in actions_of(statements))
        assert "*" not in json.dumps([s["Resource"] for s in statements])


def test_only_idempotency_records_may_be_deleted(granted: Template) -> None:
    statements = statements_of(granted, "Idempotency")
    deleting = [s for s in statements if "dynamodb:DeleteItem" in s["Action"]]
    (statement,) = deleting
    assert len(statement["Resource"] if isinstance(statement["Resource"], list) else [1]) == 1
    assert "Idempotency" in json.dumps(statement["Resource"])


def test_reads_cannot_write(granted: Template) -> None:
    actions = actions_of(statements_of(granted, "TaskReads"))
    assert "dynamodb:GetItem" in actions
    assert "dynamodb:Query" in actions
    assert not {
        a
        for a in actions
        if a.startswith("dynamodb:") and ("Put" in a or "Update" in a or "Delete" in a)
    }


def test_writes_and_admin_can_write(granted: Template) -> None:
    for role in ("TaskWrites", "TenantAdmin"):
        actions = actions_of(statements_of(granted, role))
        assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Encrypt"} <= actions


def secret_resources(statements: list[dict[str, Any]]) -> list[str]:
    return [
        json.dumps(s["Resource"])
        for s in statements
        if actions_of([s]) & {"secretsmanager:GetSecretValue"}
    ]


def test_secrets_api_writes_tenant_secrets_under_its_deployment_path_only(
    granted: Template,
) -> None:
    statements = statements_of(granted, "SecretsWrite")
    assert actions_of(statements) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:CreateSecret",
        "secretsmanager:RestoreSecret",
        "secretsmanager:TagResource",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }
    (resource,) = secret_resources(statements)
    assert ":secret:outpost/dev/tenants/*" in resource


def test_worker_reads_tenant_secrets_and_never_writes_them(granted: Template) -> None:
    statements = statements_of(granted, "SecretsRead")
    assert actions_of(statements) == {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    (resource,) = secret_resources(statements)
    assert ":secret:outpost/dev/tenants/*" in resource

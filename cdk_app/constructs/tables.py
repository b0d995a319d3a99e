"""DynamoDB tables built from the runtime's table specs, with the protections every table has."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from outpost.data.tables import KeyAttribute, TableSpec

_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


def _attribute(key: KeyAttribute) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_TYPES[key.type])


def spec_table(
    scope: Construct,
    construct_id: str,
    *,
    spec: TableSpec,
    settings: EnvironmentSettings,
    encryption_key: kms.IKey,
) -> dynamodb.Table:
    """On demand, point-in-time recovery, the environment's key, deletion protection where
    data is retained.

    Table, not TableV2: TableV2 with a customer-managed key needs a concrete region at synth,
    and these stacks stay environment-agnostic unless CDK_DEFAULT_REGION is set.
    """
    table = dynamodb.Table(
        scope,
        construct_id,
        table_name=spec.table_name(settings.name),
        partition_key=_attribute(spec.partition),
        sort_key=_attribute(spec.sort) if spec.sort else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=encryption_key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=spec.ttl_attribute,
        stream=dynamodb.StreamViewType.NEW_IMAGE if spec.stream else None,
        deletion_protection=settings.removal_policy == "retain",
        removal_policy=settings.cdk_removal_policy,
    )
    for index in spec.indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attribute(index.partition),
            sort_key=_attribute(index.sort) if index.sort else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return table

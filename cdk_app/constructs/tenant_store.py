"""TenantStore: the tenants, api_keys, tasks and usage tables, built from the runtime's specs."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.function import RuntimeFunction
from outpost.data.tables import API_KEYS, TASKS, TENANTS, USAGE, KeyAttribute, TableSpec


def _attribute(key: KeyAttribute) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=dynamodb.AttributeType(_TYPES[key.type]))


_TYPES = {"S": "STRING", "N": "NUMBER"}


class TenantStore(Construct):
    """On-demand tables with point-in-time recovery, encrypted with ``encryption_key``.

    Tables are exposed as properties; other constructs get access only through the
    ``grant_*`` methods, each naming the use it serves.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._key = encryption_key
        self.tenants = self._table("Tenants", TENANTS)
        self.api_keys = self._table("ApiKeys", API_KEYS)
        self.tasks = self._table("Tasks", TASKS)
        self.usage = self._table("Usage", USAGE)

        self.health = RuntimeFunction(
            self,
            "Health",
            settings=settings,
            handler="outpost.handlers.health.handler",
            description="answers GET /health by reading the tenant store",
            environment=self.table_environment(TENANTS),
        )
        self._grant_get_item(self.health.role, self.tenants)

    def _table(self, construct_id: str, spec: TableSpec) -> dynamodb.Table:
        # Table, not TableV2: TableV2 with a customer-managed key needs a concrete region at
        # synth, and these stacks stay environment-agnostic unless CDK_DEFAULT_REGION is set.
        table = dynamodb.Table(
            self,
            construct_id,
            table_name=spec.table_name(self._settings.name),
            partition_key=_attribute(spec.partition),
            sort_key=_attribute(spec.sort) if spec.sort else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=self._settings.removal_policy == "retain",
            removal_policy=self._settings.cdk_removal_policy,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition),
                sort_key=_attribute(index.sort) if index.sort else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _grant_get_item(self, grantee: iam.IGrantable, *tables: dynamodb.Table) -> None:
        """GetItem on the tables themselves; Table.grant would add every index too."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"], resources=[table.table_arn for table in tables]
            )
        )
        self._key.grant_decrypt(grantee)

    def table_environment(self, *specs: TableSpec) -> dict[str, str]:
        """Environment variables naming the given tables, as the runtime's settings read them."""
        tables = {
            TENANTS: self.tenants,
            API_KEYS: self.api_keys,
            TASKS: self.tasks,
            USAGE: self.usage,
        }
        return {spec.env_var: tables[spec].table_name for spec in specs}

    def grant_key_lookup(self, grantee: iam.IGrantable) -> None:
        """Authorizer: read a key by its hash and its tenant's status."""
        self._grant_get_item(grantee, self.api_keys, self.tenants)

    def grant_tenant_admin(self, grantee: iam.IGrantable) -> None:
        """Tenant and key management: read and write tenants and their keys."""
        self.tenants.grant_read_write_data(grantee)
        self.api_keys.grant_read_write_data(grantee)

    def grant_task_reads(self, grantee: iam.IGrantable) -> None:
        self.tasks.grant_read_data(grantee)
        self.usage.grant_read_data(grantee)

    def grant_task_writes(self, grantee: iam.IGrantable) -> None:
        """Submission and the worker: read and write tasks, runs and usage."""
        self.tasks.grant_read_write_data(grantee)
        self.usage.grant_read_write_data(grantee)

"""TenantStore: the tenants, api_keys, tasks and usage tables, built from the runtime's specs."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.function import RuntimeFunction
from cdk_app.constructs.grants import grant_item_actions, grant_key
from cdk_app.constructs.tables import spec_table
from outpost.data.tables import API_KEYS, TASKS, TENANTS, USAGE, TableSpec


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
        self._key = encryption_key

        def table(construct_id: str, spec: TableSpec) -> dynamodb.Table:
            return spec_table(
                self, construct_id, spec=spec, settings=settings, encryption_key=encryption_key
            )

        self.tenants = table("Tenants", TENANTS)
        self.api_keys = table("ApiKeys", API_KEYS)
        self.tasks = table("Tasks", TASKS)
        self.usage = table("Usage", USAGE)

        self.health = RuntimeFunction(
            self,
            "Health",
            settings=settings,
            handler="outpost.handlers.health.handler",
            description="answers GET /health by reading the tenant store",
            environment=self.table_environment(TENANTS),
        )
        grant_item_actions(self.health.role, ["dynamodb:GetItem"], self.tenants)
        grant_key(self.health.role, encryption_key, write=False)

    def table_environment(self, *specs: TableSpec) -> dict[str, str]:
        """Environment variables naming the given tables, as the runtime's settings read them."""
        tables = {
            TENANTS: self.tenants,
            API_KEYS: self.api_keys,
            TASKS: self.tasks,
            USAGE: self.usage,
        }
        return {spec.env_var: tables[spec].table_name for spec in specs}

    def grant_key_authentication(self, grantee: iam.IGrantable) -> None:
        """Authorizer: read a key by its hash and its tenant's status; record the key's use."""
        grant_item_actions(grantee, ["dynamodb:GetItem"], self.api_keys, self.tenants)
        grant_item_actions(grantee, ["dynamodb:UpdateItem"], self.api_keys)
        grant_key(grantee, self._key, write=True)

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

"""TenantStore: the tenants, api_keys, tasks, usage and idempotency tables, built from the
runtime's specs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Aws, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.grants import grant_key
from cdk_app.constructs.tables import spec_table
from outpost.data.secrets import SECRETS_KMS_KEY_ENV, secret_name_prefix
from outpost.data.tables import API_KEYS, IDEMPOTENCY, TASKS, TENANTS, USAGE, TableSpec

READ = ["dynamodb:GetItem", "dynamodb:Query"]
WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]


SECRET_WRITE = [
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:CreateSecret",
    "secretsmanager:RestoreSecret",
    "secretsmanager:TagResource",
]


class TenantStore(Construct):
    """On-demand tables with point-in-time recovery, encrypted with ``encryption_key``; and the
    tenants' provider keys, one Secrets Manager secret per tenant under this deployment's path.

    Tables are exposed as properties; other constructs get access only through the
    ``grant_*`` methods, each naming the use it serves and granting exactly its actions on
    the tables and the indexes it reads (never ``index/*``, never DeleteItem).
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
        # Pseudo-parameters, not the stack's region: the same ARN (and acknowledgment)
        # whether or not the stack is bound to a region.
        self._secrets_prefix = secret_name_prefix(settings.name)
        self._tenant_secrets_arn = (
            f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:"
            f"{self._secrets_prefix}*"
        )

        def table(construct_id: str, spec: TableSpec) -> dynamodb.Table:
            return spec_table(
                self, construct_id, spec=spec, settings=settings, encryption_key=encryption_key
            )

        self.tenants = table("Tenants", TENANTS)
        self.api_keys = table("ApiKeys", API_KEYS)
        self.tasks = table("Tasks", TASKS)
        self.usage = table("Usage", USAGE)
        self.idempotency = table("Idempotency", IDEMPOTENCY)
        self._tables = {
            TENANTS: self.tenants,
            API_KEYS: self.api_keys,
            TASKS: self.tasks,
            USAGE: self.usage,
            IDEMPOTENCY: self.idempotency,
        }

    def table_environment(self, *specs: TableSpec) -> dict[str, str]:
        """Environment variables naming the given tables, as the runtime's settings read them."""
        return {spec.env_var: self._tables[spec].table_name for spec in specs}

    def _grant(
        self,
        grantee: iam.IGrantable,
        actions: Sequence[str],
        specs: Sequence[TableSpec],
        *,
        write: bool,
    ) -> None:
        resources = []
        for spec in specs:
            arn = self._tables[spec].table_arn
            resources.append(arn)
            if "dynamodb:Query" in actions:
                resources.extend(f"{arn}/index/{index.name}" for index in spec.indexes)
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=list(actions), resources=resources)
        )
        grant_key(grantee, self._key, write=write)

    def grant_tenant_lookup(self, grantee: iam.IGrantable) -> None:
        """Read a tenant by id (its tier and status)."""
        self._grant(grantee, ["dynamodb:GetItem"], [TENANTS], write=False)

    def grant_key_authentication(self, grantee: iam.IGrantable) -> None:
        """Authorizer: read a key by its hash and its tenant's status; record the key's use."""
        self._grant(grantee, ["dynamodb:GetItem"], [API_KEYS, TENANTS], write=True)
        self._grant(grantee, ["dynamodb:UpdateItem"], [API_KEYS], write=True)

    def grant_tenant_admin(self, grantee: iam.IGrantable) -> None:
        """Tenant and key management: read and write tenants and their keys."""
        self._grant(grantee, [*READ, *WRITE], [TENANTS, API_KEYS], write=True)

    def grant_idempotency(self, grantee: iam.IGrantable) -> None:
        """Idempotency records of task submission. Delete is needed: Powertools removes the
        record of a request that failed, so that its retry runs."""
        self._grant(
            grantee, ["dynamodb:GetItem", *WRITE, "dynamodb:DeleteItem"], [IDEMPOTENCY], write=True
        )

    def grant_task_reads(self, grantee: iam.IGrantable) -> None:
        self._grant(grantee, READ, [TASKS, USAGE], write=False)

    def grant_task_writes(self, grantee: iam.IGrantable) -> None:
        """Submission and the worker: read and write tasks, runs and usage."""
        self._grant(grantee, [*READ, *WRITE], [TASKS, USAGE], write=True)

    def grant_usage_reconciliation(self, grantee: iam.IGrantable) -> None:
        """The reconciler: read every tenant, read usage events, write monthly totals."""
        self._grant(grantee, ["dynamodb:Scan"], [TENANTS], write=False)
        self._grant(grantee, ["dynamodb:Query", "dynamodb:PutItem"], [USAGE], write=True)

    def secrets_environment(self) -> dict[str, str]:
        """Tenants' secrets are created at run time, encrypted with the environment's key."""
        return {SECRETS_KMS_KEY_ENV: self._key.key_arn}

    def grant_secrets_write(self, role: iam.IRole) -> None:
        """The secrets API: create and rewrite tenants' secrets, and their metadata items."""
        self._grant_secrets(role, SECRET_WRITE, write=True)
        self._grant(role, ["dynamodb:GetItem", "dynamodb:UpdateItem"], [USAGE], write=True)

    def grant_secrets_read(self, role: iam.IRole) -> None:
        """The worker: read the secret of the tenant whose run it executes."""
        self._grant_secrets(role, ["secretsmanager:GetSecretValue"], write=False)

    def _grant_secrets(self, role: iam.IRole, actions: list[str], *, write: bool) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[self._tenant_secrets_arn])
        )
        grant_key(role, self._key, write=write)
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:"
                f"<AWS::Region>:<AWS::AccountId>:secret:{self._secrets_prefix}*]",
                reason="One secret per tenant, created at run time: the resource is this "
                "deployment's tenant-secret path (tenant separation is the worker's and the "
                "API's, which name the secret from the run's or caller's own tenant id).",
            )
        )

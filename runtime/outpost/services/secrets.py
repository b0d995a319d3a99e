"""Storing, listing and removing a tenant's provider keys: values go in, never come out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from outpost.api.schemas import SecretList
from outpost.data.secrets import SECRETS_KMS_KEY_ENV, TenantSecrets
from outpost.data.tables import USAGE
from outpost.errors import NotFound, ValidationFailed
from outpost.models.api_key import Scope
from outpost.models.audit import AuditEntry
from outpost.models.secret import Provider, SecretMetadata, StoreSecret
from outpost.services.audit import AuditService, AuditSettings
from outpost.services.auth import Caller, require_scope
from outpost.settings import RuntimeSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient


class TenantSecretsSettings(RuntimeSettings):
    """Where tenants' keys live; the API's secrets functions and the worker extend these."""

    deployment: str = Field(alias="OUTPOST_ENVIRONMENT")
    usage_table: str = Field(alias=USAGE.env_var)
    secrets_kms_key_id: str | None = Field(alias=SECRETS_KMS_KEY_ENV, default=None)

    def tenant_secrets(
        self, secrets: SecretsManagerClient, dynamodb: DynamoDBClient
    ) -> TenantSecrets:
        return TenantSecrets(
            secrets=secrets,
            dynamodb=dynamodb,
            usage_table=self.usage_table,
            deployment=self.deployment,
            kms_key_id=self.secrets_kms_key_id,
        )


class SecretsSettings(AuditSettings, TenantSecretsSettings):
    pass


def parse_provider(name: str) -> Provider:
    try:
        return Provider(name)
    except ValueError:
        known = ", ".join(provider.value for provider in Provider)
        raise ValidationFailed(f"provider must be one of: {known}") from None


class SecretsService:
    def __init__(self, store: TenantSecrets, audit: AuditService) -> None:
        self._store = store
        self._audit = audit

    def list(self, caller: Caller) -> SecretList:
        require_scope(caller, Scope.SECRETS_WRITE)
        return SecretList(data=self._store.list(caller.principal.tenant_id))

    def put(self, caller: Caller, provider_name: str, body: StoreSecret) -> SecretMetadata:
        require_scope(caller, Scope.SECRETS_WRITE)
        provider = parse_provider(provider_name)
        stored = self._store.put(caller.principal.tenant_id, provider, body.value)
        self._record(caller, provider, "secret_stored")
        return stored

    def delete(self, caller: Caller, provider_name: str) -> SecretMetadata:
        require_scope(caller, Scope.SECRETS_WRITE)
        provider = parse_provider(provider_name)
        removed = self._store.delete(caller.principal.tenant_id, provider)
        if removed is None:
            raise NotFound(f"no {provider.value} secret is stored")
        self._record(caller, provider, "secret_deleted")
        return removed

    def _record(self, caller: Caller, provider: Provider, action: str) -> None:
        self._audit.record(
            AuditEntry(
                tenant_id=caller.principal.tenant_id,
                action=action,
                resource=f"secrets/{provider.value}",
                request_id=caller.request_id,
                metadata=caller.metadata,
                details={"provider": provider.value},
            )
        )

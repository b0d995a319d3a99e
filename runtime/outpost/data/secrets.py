"""A tenant's provider keys: one Secrets Manager secret per tenant, its metadata in DynamoDB.

Layout: the secret ``outpost/<deployment>/tenants/<tenant_id>`` holds a JSON object of provider
name to value ($0.40 a tenant-month, against $2.40 for one secret per provider). Secrets
Manager has no conditional write, so read-merge-write is serialised per tenant by a short
lease on the tenant's ``secrets`` item in the usage table, which also holds each provider's
created/updated times and masked hint: listing never decrypts a value.

Removing a provider rewrites the secret without it; the secret itself is never deleted by the
API, so a DELETE followed by a PUT never meets a secret lingering in its recovery window. A
secret an operator scheduled for deletion is restored on the next write.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from outpost.errors import Conflict
from outpost.models.common import format_timestamp, utc_now
from outpost.models.secret import Provider, SecretMetadata, hint_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_secretsmanager.type_defs import CreateSecretRequestTypeDef

SECRETS_SORT_KEY = "secrets"
SECRETS_KMS_KEY_ENV = "OUTPOST_SECRETS_KMS_KEY"
LOCK_TIME = timedelta(seconds=30)
LOCK_WAIT_SECONDS = 5.0


def secret_name(deployment: str, tenant_id: UUID) -> str:
    return f"outpost/{deployment}/tenants/{tenant_id}"


def stripe_secret_name(deployment: str) -> str:
    """The deployment's Stripe keys: {"secret_key": "sk_…", "webhook_secret": "whsec_…"}."""
    return f"outpost/{deployment}/stripe"


def secret_name_prefix(deployment: str) -> str:
    """Every tenant's secret of a deployment lives under this path (IAM scopes to it)."""
    return f"outpost/{deployment}/tenants/"


class SecretsBusy(Conflict):
    type = "secrets_busy"


def _metadata(provider: Provider, stored: Mapping[str, AttributeValueTypeDef]) -> SecretMetadata:
    return SecretMetadata(
        provider=provider,
        created_at=datetime.fromisoformat(stored["created_at"]["S"]),
        updated_at=datetime.fromisoformat(stored["updated_at"]["S"]),
        hint=stored["hint"]["S"],
    )


class TenantSecrets:
    def __init__(
        self,
        *,
        secrets: SecretsManagerClient,
        dynamodb: DynamoDBClient,
        usage_table: str,
        deployment: str,
        kms_key_id: str | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._secrets = secrets
        self._dynamodb = dynamodb
        self._table = usage_table
        self._deployment = deployment
        self._kms_key_id = kms_key_id
        self._now = now

    def _key(self, tenant_id: UUID) -> dict[str, AttributeValueTypeDef]:
        return {"tenant_id": {"S": str(tenant_id)}, "sk": {"S": SECRETS_SORT_KEY}}

    def list(self, tenant_id: UUID) -> list[SecretMetadata]:
        item = self._dynamodb.get_item(
            TableName=self._table, Key=self._key(tenant_id), ConsistentRead=True
        ).get("Item", {})
        stored = item.get("providers", {}).get("M", {})
        found = [_metadata(Provider(name), meta["M"]) for name, meta in stored.items()]
        return sorted(found, key=lambda meta: list(Provider).index(meta.provider))

    def values(self, tenant_id: UUID) -> dict[Provider, str]:
        """The tenant's keys, for the worker running one of its tasks."""
        known = {provider.value for provider in Provider}
        return {
            Provider(name): value for name, value in self._read(tenant_id).items() if name in known
        }

    def put(self, tenant_id: UUID, provider: Provider, value: str) -> SecretMetadata:
        with self._lease(tenant_id) as (owner, held):
            stored = self._read(tenant_id)
            stored[provider.value] = value
            self._write(tenant_id, stored)
            now = format_timestamp(self._now())
            previous = held.get(provider.value)
            created = previous["M"]["created_at"]["S"] if previous else now
            metadata: dict[str, AttributeValueTypeDef] = {
                "created_at": {"S": created},
                "updated_at": {"S": now},
                "hint": {"S": hint_of(value)},
            }
            self._update_held(
                tenant_id,
                owner,
                UpdateExpression="SET providers.#p = :meta",
                ExpressionAttributeNames={"#p": provider.value},
                ExpressionAttributeValues={":meta": {"M": metadata}},
            )
        return SecretMetadata(
            provider=provider,
            created_at=datetime.fromisoformat(created),
            updated_at=datetime.fromisoformat(now),
            hint=hint_of(value),
        )

    def delete(self, tenant_id: UUID, provider: Provider) -> SecretMetadata | None:
        """Remove one provider's key; what was removed, or None if none was stored."""
        with self._lease(tenant_id) as (owner, held):
            stored = self._read(tenant_id)
            if stored.pop(provider.value, None) is not None:
                self._write(tenant_id, stored)
            self._update_held(
                tenant_id,
                owner,
                UpdateExpression="REMOVE providers.#p",
                ExpressionAttributeNames={"#p": provider.value},
                ExpressionAttributeValues={},
            )
        previous = held.get(provider.value)
        return _metadata(provider, previous["M"]) if previous else None

    def _update_held(self, tenant_id: UUID, owner: str, **update: Any) -> None:
        """Update the metadata while this writer still holds the lease; 409 if it lost it
        (it outlived its 30 s), so the client retries rather than sees a 500."""
        values = {**update.pop("ExpressionAttributeValues"), ":owner": {"S": owner}}
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key(tenant_id),
                ConditionExpression="lock_owner = :owner",
                ExpressionAttributeValues=values,
                **update,
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            raise SecretsBusy("this tenant's secrets changed during the write; retry") from None

    @contextmanager
    def _lease(self, tenant_id: UUID) -> Iterator[tuple[str, Mapping[str, AttributeValueTypeDef]]]:
        """Hold the tenant's write lease for the block; 409 if another writer keeps it. Yields
        the lease's owner token (writes inside the block are conditioned on it) and the
        providers' metadata as the lease found it."""
        owner = str(uuid4())
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        delay = 0.02
        while True:
            now = self._now()
            try:
                taken = self._dynamodb.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id),
                    ReturnValues="ALL_NEW",
                    UpdateExpression=(
                        "SET lock_owner = :owner, lock_expires = :expires, "
                        "providers = if_not_exists(providers, :empty)"
                    ),
                    ConditionExpression="attribute_not_exists(lock_owner) OR lock_expires < :now",
                    ExpressionAttributeValues={
                        ":owner": {"S": owner},
                        ":expires": {"N": str(int((now + LOCK_TIME).timestamp()))},
                        ":now": {"N": str(int(now.timestamp()))},
                        ":empty": {"M": {}},
                    },
                )
                break
            except self._dynamodb.exceptions.ConditionalCheckFailedException:
                if time.monotonic() >= deadline:
                    raise SecretsBusy(
                        "another change to this tenant's secrets is in progress; retry"
                    ) from None
                time.sleep(delay * (1 + random.random()))  # noqa: S311 - jitter, not crypto
                delay = min(delay * 2, 0.5)
        try:
            yield owner, taken["Attributes"]["providers"]["M"]
        finally:
            with contextlib.suppress(self._dynamodb.exceptions.ConditionalCheckFailedException):
                self._dynamodb.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id),
                    UpdateExpression="REMOVE lock_owner, lock_expires",
                    ConditionExpression="lock_owner = :owner",
                    ExpressionAttributeValues={":owner": {"S": owner}},
                )

    def _read(self, tenant_id: UUID) -> dict[str, str]:
        name = secret_name(self._deployment, tenant_id)
        try:
            response = self._secrets.get_secret_value(SecretId=name)
        except self._secrets.exceptions.ResourceNotFoundException:
            return {}
        except self._secrets.exceptions.InvalidRequestException:
            # Scheduled for deletion by hand: bring it back, as the tenant still uses it.
            self._secrets.restore_secret(SecretId=name)
            response = self._secrets.get_secret_value(SecretId=name)
        stored: dict[str, str] = json.loads(response["SecretString"])
        return stored

    def _write(self, tenant_id: UUID, stored: dict[str, str]) -> None:
        name = secret_name(self._deployment, tenant_id)
        body = json.dumps(stored, sort_keys=True)
        try:
            self._secrets.put_secret_value(SecretId=name, SecretString=body)
        except self._secrets.exceptions.ResourceNotFoundException:
            request: CreateSecretRequestTypeDef = {
                "Name": name,
                "SecretString": body,
                "Description": "Outpost: a tenant's provider keys (BYOK)",
                "Tags": [{"Key": "outpost:tenant", "Value": str(tenant_id)}],
            }
            if self._kms_key_id:
                request["KmsKeyId"] = self._kms_key_id
            try:
                self._secrets.create_secret(**request)
            except self._secrets.exceptions.ResourceExistsException:
                # Created between our put and our create: it exists now, so put again.
                self._secrets.put_secret_value(SecretId=name, SecretString=body)

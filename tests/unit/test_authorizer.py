"""The TOKEN authorizer: policies, 401 versus 403, audit of every decision, no key in logs."""

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.tables import API_KEYS, AUDIT, TENANTS
from outpost.data.tenants import TenantRepository
from outpost.handlers import authorizer
from outpost.models import ApiKey, AuditEntry, Environment, Tenant, TenantStatus
from outpost.models.audit import UNATTRIBUTED
from tests.unit.conftest import Store

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/v1/tasks"


@dataclass
class Wired:
    store: Store
    queue_url: str
    keys: ApiKeyRepository
    tenants: TenantRepository

    def audited(self) -> list[AuditEntry]:
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [AuditEntry.model_validate_json(m["Body"]) for m in messages.get("Messages", [])]

    def onboard(self) -> tuple[Tenant, ApiKey, str]:
        tenant = Tenant(name="Acme", email="ops@acme.example")
        self.tenants.create(tenant)
        key, plaintext = ApiKey.issue(
            tenant_id=tenant.tenant_id, name="ci", environment=Environment.LIVE
        )
        self.keys.create(key)
        return tenant, key, plaintext


class LambdaContext:
    function_name = "authorizer"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:authorizer"
    aws_request_id = "lambda-request-1"


@pytest.fixture
def wired(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wired]:
    queue_url = boto3.client("sqs").create_queue(QueueName="outpost-audit-unit")["QueueUrl"]
    for name, value in {
        API_KEYS.env_var: store.api_keys,
        TENANTS.env_var: store.tenants,
        AUDIT.env_var: store.audit,
        "OUTPOST_AUDIT_QUEUE_URL": queue_url,
    }.items():
        monkeypatch.setenv(name, value)
    authorizer._dependencies.cache_clear()
    yield Wired(
        store,
        queue_url,
        ApiKeyRepository(store.client, store.api_keys),
        TenantRepository(store.client, store.tenants),
    )
    authorizer._dependencies.cache_clear()


def invoke(token: str) -> dict[str, Any]:
    event = {"type": "TOKEN", "authorizationToken": token, "methodArn": METHOD_ARN}
    result: dict[str, Any] = authorizer.handler(event, LambdaContext())
    return result


def test_allow_covers_every_route_of_the_stage_and_carries_the_tenant(wired: Wired) -> None:
    tenant, key, plaintext = wired.onboard()
    response = invoke(f"Bearer {plaintext}")
    (statement,) = response["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"]
    assert response["context"]["tenant_id"] == str(tenant.tenant_id)
    assert response["context"]["key_prefix"] == key.prefix
    assert response["principalId"] == key.prefix
    assert response["usageIdentifierKey"] == f"tenant-{tenant.tenant_id}"  # its tier's plan
    (entry,) = wired.audited()
    assert (entry.action, entry.tenant_id, entry.resource) == (
        "auth.allowed",
        tenant.tenant_id,
        "GET /v1/tasks",
    )
    assert entry.request_id == "lambda-request-1"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "missing_credentials"),
        ("Bearer not-a-key", "malformed_key"),
        ("Bearer op_live_" + "c" * 32, "unknown_key"),
    ],
)
def test_bad_credentials_are_401_and_audited_unattributed(
    wired: Wired, token: str, reason: str
) -> None:
    with pytest.raises(authorizer.Unauthorized, match=r"^Unauthorized$"):
        invoke(token)
    (entry,) = wired.audited()
    assert (entry.action, entry.tenant_id, entry.details) == (
        "auth.denied",
        UNATTRIBUTED,
        {"reason": reason},
    )


def test_revoked_key_and_suspended_tenant_get_an_explicit_deny(wired: Wired) -> None:
    tenant, key, plaintext = wired.onboard()
    wired.keys.revoke(tenant.tenant_id, key.key_id, key.created_at)
    response = invoke(f"Bearer {plaintext}")
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in response or not response["context"]
    other_tenant, _, other_key = wired.onboard()
    wired.tenants.replace(other_tenant.model_copy(update={"status": TenantStatus.SUSPENDED}))
    assert invoke(f"Bearer {other_key}")["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    entries = wired.audited()
    assert [(e.details["reason"], e.tenant_id) for e in entries] == [
        ("revoked_key", tenant.tenant_id),
        ("tenant_inactive", other_tenant.tenant_id),
    ]


def test_no_full_key_in_logs_audit_or_responses(
    wired: Wired, caplog: pytest.LogCaptureFixture
) -> None:
    tenant, key, plaintext = wired.onboard()
    unknown = "op_test_" + "d" * 32
    outputs: list[str] = []
    with caplog.at_level(logging.DEBUG):
        outputs.append(json.dumps(invoke(f"Bearer {plaintext}")))
        wired.keys.revoke(tenant.tenant_id, key.key_id, key.created_at)
        authorizer._dependencies.cache_clear()
        outputs.append(json.dumps(invoke(f"Bearer {plaintext}")))
        with pytest.raises(authorizer.Unauthorized) as raised:
            invoke(f"Bearer {unknown}")
        outputs.append(str(raised.value))
    outputs.extend(e.model_dump_json() for e in wired.audited())
    outputs.extend(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    everything = "\n".join(outputs)
    assert key.prefix in everything  # the display prefix is what identifies a key
    for secret in (plaintext, unknown, plaintext[len(key.prefix) :], unknown[14:]):
        assert secret not in everything

"""BYOK secrets: stored in one Secrets Manager secret per tenant, listed from metadata, never
shown again, audited without values, and safe under concurrent writers."""

import json
import logging
from uuid import UUID, uuid4

import boto3
import pytest

from outpost.data.secrets import SecretsBusy, TenantSecrets, secret_name
from outpost.data.secrets import __name__ as secrets_module
from outpost.models import Scope
from outpost.models.secret import Provider
from tests.unit.api import Api, principal
from tests.unit.conftest import ENVIRONMENT, Store

TOKEN = "ghp_" + "S3cr3tT0ken" * 3


def tenant_secrets(store: Store, **kwargs: str) -> TenantSecrets:
    return TenantSecrets(
        secrets=boto3.client("secretsmanager"),
        dynamodb=store.client,
        usage_table=store.usage,
        deployment=ENVIRONMENT,
        **kwargs,
    )


def new_tenant(api: Api) -> UUID:
    return UUID(api.new_tenant(f"{uuid4().hex[:8]}@acme.example")["tenant_id"])


def test_stored_key_is_listed_with_a_hint_and_never_returned(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    me = principal(new_tenant(api))
    status, stored = api.call("PUT", "/v1/secrets/github", me, {"value": TOKEN})
    assert status == 200
    assert stored["provider"] == "github"
    assert stored["hint"] == "…" + TOKEN[-4:]
    status, listed = api.call("GET", "/v1/secrets", me)
    assert status == 200
    assert [entry["provider"] for entry in listed["data"]] == ["github"]
    assert TOKEN not in json.dumps([stored, listed])
    assert TOKEN not in caplog.text
    raw = boto3.client("secretsmanager").get_secret_value(
        SecretId=secret_name(ENVIRONMENT, me.tenant_id)
    )
    assert json.loads(raw["SecretString"]) == {"github": TOKEN}


def test_every_change_is_audited_without_the_value(api: Api) -> None:
    me = principal(new_tenant(api))
    api.call("PUT", "/v1/secrets/anthropic", me, {"value": TOKEN})
    api.call("DELETE", "/v1/secrets/anthropic", me)
    status, page = api.call("GET", "/v1/audit", me)
    assert status == 200
    actions = [entry["action"] for entry in page["data"] if entry["resource"].startswith("secrets")]
    assert actions == ["secret_deleted", "secret_stored"]
    assert TOKEN not in json.dumps(page)


def test_replacing_keeps_created_at_and_moves_updated_at(api: Api) -> None:
    me = principal(new_tenant(api))
    _, first = api.call("PUT", "/v1/secrets/openai", me, {"value": TOKEN})
    _, second = api.call("PUT", "/v1/secrets/openai", me, {"value": TOKEN[::-1]})
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] >= first["updated_at"]
    assert second["hint"] == "…" + TOKEN[::-1][-4:]


def test_short_values_show_no_characters(api: Api) -> None:
    me = principal(new_tenant(api))
    _, stored = api.call("PUT", "/v1/secrets/xai", me, {"value": "short-key"})
    assert stored["hint"] == "…"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"value": ""}, 422, "validation_error"),
        ({"value": "has space " + TOKEN}, 422, "validation_error"),
        ({"value": TOKEN, "extra": 1}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
def test_bad_values_are_refused_without_echoing_them(
    api: Api, body: dict[str, object], status: int, error: str
) -> None:
    me = principal(new_tenant(api))
    got, answer = api.call("PUT", "/v1/secrets/github", me, body)
    assert (got, answer["error"]["type"]) == (status, error)
    assert TOKEN not in json.dumps(answer)


def test_malformed_json_is_a_400(api: Api) -> None:
    me = principal(new_tenant(api))
    status, answer = api.call("PUT", "/v1/secrets/github", me, raw_body='{"value": ')
    assert (status, answer["error"]["type"]) == (400, "invalid_json")


def test_unknown_provider_is_refused(api: Api) -> None:
    me = principal(new_tenant(api))
    status, answer = api.call("PUT", "/v1/secrets/gitlab", me, {"value": TOKEN})
    assert status == 422
    assert "github, anthropic" in answer["error"]["message"]


def test_deleting_a_missing_key_is_a_404(api: Api) -> None:
    me = principal(new_tenant(api))
    status, answer = api.call("DELETE", "/v1/secrets/github", me)
    assert (status, answer["error"]["type"]) == (404, "not_found")


def test_delete_then_put_again_works(api: Api) -> None:
    me = principal(new_tenant(api))
    api.call("PUT", "/v1/secrets/github", me, {"value": TOKEN})
    assert api.call("DELETE", "/v1/secrets/github", me)[0] == 200
    assert api.call("GET", "/v1/secrets", me)[1]["data"] == []
    assert api.call("PUT", "/v1/secrets/github", me, {"value": TOKEN})[0] == 200
    assert [e["provider"] for e in api.call("GET", "/v1/secrets", me)[1]["data"]] == ["github"]


def test_a_secret_scheduled_for_deletion_by_hand_is_restored_on_write(store: Store) -> None:
    secrets = tenant_secrets(store)
    tenant_id = uuid4()
    secrets.put(tenant_id, Provider.GITHUB, TOKEN)
    boto3.client("secretsmanager").delete_secret(
        SecretId=secret_name(ENVIRONMENT, tenant_id), RecoveryWindowInDays=7
    )
    secrets.put(tenant_id, Provider.ANTHROPIC, TOKEN)
    assert secrets.values(tenant_id) == {Provider.GITHUB: TOKEN, Provider.ANTHROPIC: TOKEN}


def test_secrets_are_encrypted_with_the_stack_key(store: Store) -> None:
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    tenant_id = uuid4()
    tenant_secrets(store, kms_key_id=key_id).put(tenant_id, Provider.GITHUB, TOKEN)
    described = boto3.client("secretsmanager").describe_secret(
        SecretId=secret_name(ENVIRONMENT, tenant_id)
    )
    assert described["KmsKeyId"] == key_id


def test_a_tenant_never_sees_or_removes_another_tenants_keys(api: Api) -> None:
    alice, bob = principal(new_tenant(api)), principal(new_tenant(api))
    api.call("PUT", "/v1/secrets/github", alice, {"value": TOKEN})
    assert api.call("GET", "/v1/secrets", bob)[1]["data"] == []
    assert api.call("DELETE", "/v1/secrets/github", bob)[0] == 404
    assert [e["provider"] for e in api.call("GET", "/v1/secrets", alice)[1]["data"]] == ["github"]
    store = tenant_secrets(api.store)
    assert store.values(bob.tenant_id) == {}
    assert store.values(alice.tenant_id) == {Provider.GITHUB: TOKEN}


def test_keys_without_the_secrets_scope_are_refused(api: Api) -> None:
    reader = principal(new_tenant(api), Scope.TASKS_READ)
    assert api.call("GET", "/v1/secrets", reader)[0] == 403
    assert api.call("PUT", "/v1/secrets/github", reader, {"value": TOKEN})[0] == 403


def test_a_second_writer_cannot_interleave_with_the_first(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writer B arrives while writer A sits between reading and writing the secret (where a
    lost update would happen): B is held off, A's write lands, and B's retry keeps both."""
    monkeypatch.setattr(f"{secrets_module}.LOCK_WAIT_SECONDS", 0.1)
    secrets = tenant_secrets(store)
    tenant_id = uuid4()
    read = TenantSecrets._read
    interleaved: list[str] = []

    def read_then_let_b_try(self: TenantSecrets, tenant: UUID) -> dict[str, str]:
        stored = read(self, tenant)
        if not interleaved:
            interleaved.append("b tried")
            with pytest.raises(SecretsBusy):
                secrets.put(tenant_id, Provider.ANTHROPIC, "b-" + TOKEN)
        return stored

    monkeypatch.setattr(TenantSecrets, "_read", read_then_let_b_try)
    secrets.put(tenant_id, Provider.GITHUB, "a-" + TOKEN)
    secrets.put(tenant_id, Provider.ANTHROPIC, "b-" + TOKEN)
    assert interleaved == ["b tried"]
    assert secrets.values(tenant_id) == {
        Provider.GITHUB: "a-" + TOKEN,
        Provider.ANTHROPIC: "b-" + TOKEN,
    }
    assert [meta.provider for meta in secrets.list(tenant_id)] == [
        Provider.GITHUB,
        Provider.ANTHROPIC,
    ]


def test_a_writer_waits_for_the_lease_and_gives_up_with_a_409(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(f"{secrets_module}.LOCK_WAIT_SECONDS", 0.2)
    secrets = tenant_secrets(store)
    tenant_id = uuid4()
    with secrets._lease(tenant_id), pytest.raises(SecretsBusy):
        secrets.put(tenant_id, Provider.GITHUB, TOKEN)
    secrets.put(tenant_id, Provider.GITHUB, TOKEN)
    assert secrets.values(tenant_id) == {Provider.GITHUB: TOKEN}

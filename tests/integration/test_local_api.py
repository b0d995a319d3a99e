"""Local mode over HTTP: tenants, keys, revocation, bad keys, isolation and the audit trail."""

import json
import time
from typing import Any

import boto3
import pytest

from outpost.models.audit import UNATTRIBUTED
from tests.integration.conftest import LocalSystem

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]

# Every key this module is given, for the closing check that none of them reached a log.
ISSUED: list[str] = []


def eventually_audited(
    system: LocalSystem, key: str, query: str, wanted: set[str]
) -> list[dict[str, Any]]:
    """The audit buffer is drained by a poller, so entries arrive within a moment."""
    deadline = time.monotonic() + 15
    entries: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        status, page = system.call("GET", f"/v1/audit?{query}", key)
        assert status == 200, page
        entries = page["data"]
        if wanted <= {entry["action"] for entry in entries}:
            return entries
        time.sleep(0.3)
    raise AssertionError(f"audit never showed {wanted}; saw {[e['action'] for e in entries]}")


@pytest.fixture(scope="module")
def acme(local_system: LocalSystem) -> dict[str, Any]:
    status, tenant = local_system.call(
        "POST",
        "/v1/tenants",
        local_system.admin_key,
        {"name": "Acme", "email": "ops@acme.example", "tier": "pro"},
    )
    assert status == 201, tenant
    status, key = local_system.call(
        "POST",
        f"/v1/tenants/{tenant['tenant_id']}/api-keys",
        local_system.admin_key,
        {"name": "ci", "environment": "live"},
    )
    assert status == 201, key
    ISSUED.append(key["key"])
    return {"tenant": tenant, "key": key}


def test_health_needs_no_key(local_system: LocalSystem) -> None:
    assert local_system.call("GET", "/health") == (200, {"status": "ok"})


def test_a_new_key_works_once_made(local_system: LocalSystem, acme: dict[str, Any]) -> None:
    tenant_id = acme["tenant"]["tenant_id"]
    status, tenant = local_system.call("GET", f"/v1/tenants/{tenant_id}", acme["key"]["key"])
    assert (status, tenant["name"]) == (200, "Acme")
    status, keys = local_system.call("GET", f"/v1/tenants/{tenant_id}/api-keys", acme["key"]["key"])
    assert status == 200
    assert [k["prefix"] for k in keys["data"]] == [acme["key"]["prefix"]]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer op_live_nothex",
        "Bearer op_live_" + "0" * 32,
        "Basic b3V0cG9zdDpvdXRwb3N0",
        "op_live_" + "0" * 32,
    ],
)
def test_bad_credentials_are_401_in_the_json_shape(local_system: LocalSystem, header: str) -> None:
    status, body = local_system.call("GET", "/v1/audit", headers={"Authorization": header})
    assert status == 401
    assert body["error"]["type"] == "unauthorized"
    assert body["error"]["request_id"]


def test_no_key_is_401(local_system: LocalSystem) -> None:
    assert local_system.call("GET", "/v1/audit")[0] == 401


def test_the_same_secret_under_the_other_environment_is_refused(
    local_system: LocalSystem, acme: dict[str, Any]
) -> None:
    swapped = acme["key"]["key"].replace("op_live_", "op_test_")
    assert local_system.call("GET", "/v1/audit", swapped)[0] == 401


def test_a_foreign_tenant_id_is_404_like_a_missing_one(
    local_system: LocalSystem, acme: dict[str, Any]
) -> None:
    status, other = local_system.call(
        "POST", "/v1/tenants", local_system.admin_key, {"name": "Other", "email": "o@other.example"}
    )
    assert status == 201
    key = acme["key"]["key"]
    foreign = local_system.call("GET", f"/v1/tenants/{other['tenant_id']}", key)
    missing = local_system.call("GET", "/v1/tenants/00000000-0000-4000-8000-000000000000", key)
    assert foreign[0] == missing[0] == 404
    assert foreign[1]["error"]["message"] == missing[1]["error"]["message"]
    assert local_system.call("GET", f"/v1/tenants/{other['tenant_id']}/api-keys", key)[0] == 404


def test_bad_input_is_4xx(local_system: LocalSystem) -> None:
    admin = local_system.admin_key
    assert local_system.call("POST", "/v1/tenants", admin, raw=b'{"name": ')[0] == 400
    assert local_system.call("POST", "/v1/tenants", admin, {"name": "X", "email": "nope"})[0] == 422
    assert local_system.call("POST", "/v1/tenants", admin, raw=b"\xff\xfe")[0] == 400
    assert local_system.call("GET", "/v1/nothing-here", admin)[0] == 404


def test_revocation_takes_effect_at_once_and_everything_is_audited(
    local_system: LocalSystem,
) -> None:
    admin = local_system.admin_key
    _, tenant = local_system.call(
        "POST", "/v1/tenants", admin, {"name": "Rev", "email": "r@rev.example"}
    )
    tenant_id = tenant["tenant_id"]
    _, key = local_system.call("POST", f"/v1/tenants/{tenant_id}/api-keys", admin, {"name": "k"})
    ISSUED.append(key["key"])
    assert local_system.call("GET", f"/v1/tenants/{tenant_id}", key["key"])[0] == 200
    status, _ = local_system.call(
        "DELETE", f"/v1/tenants/{tenant_id}/api-keys/{key['key_id']}", admin
    )
    assert status == 200
    status, body = local_system.call("GET", f"/v1/tenants/{tenant_id}", key["key"])
    assert (status, body["error"]["type"]) == (403, "forbidden")

    entries = eventually_audited(
        local_system,
        admin,
        f"tenant_id={tenant_id}",
        {"tenant.created", "api_key.created", "auth.allowed", "api_key.revoked", "auth.denied"},
    )
    denied = next(e for e in entries if e["action"] == "auth.denied")
    assert denied["details"] == {"reason": "revoked_key"}
    assert denied["metadata"]["key_prefix"] == key["prefix"]
    created = next(e for e in entries if e["action"] == "tenant.created")
    assert created["metadata"]["user_agent"] == "outpost-integration-tests/1"
    assert created["metadata"]["source_ip"] == "127.0.0.1"
    unattributed = eventually_audited(
        local_system, admin, f"tenant_id={UNATTRIBUTED}", {"auth.denied"}
    )
    assert {e["details"]["reason"] for e in unattributed} >= {"unknown_key"}


def test_deleting_a_tenant_stops_its_keys(local_system: LocalSystem) -> None:
    admin = local_system.admin_key
    _, tenant = local_system.call(
        "POST", "/v1/tenants", admin, {"name": "Del", "email": "d@del.example"}
    )
    _, key = local_system.call(
        "POST", f"/v1/tenants/{tenant['tenant_id']}/api-keys", admin, {"name": "k"}
    )
    ISSUED.append(key["key"])
    assert local_system.call("GET", f"/v1/tenants/{tenant['tenant_id']}", key["key"])[0] == 200
    assert local_system.call("DELETE", f"/v1/tenants/{tenant['tenant_id']}", admin)[0] == 200
    assert local_system.call("GET", f"/v1/tenants/{tenant['tenant_id']}", key["key"])[0] == 403


def test_a_tenant_reads_only_its_own_audit(local_system: LocalSystem, acme: dict[str, Any]) -> None:
    entries = eventually_audited(local_system, acme["key"]["key"], "", {"tenant.created"})
    assert {e["tenant_id"] for e in entries} == {acme["tenant"]["tenant_id"]}
    status, _ = local_system.call("GET", f"/v1/audit?tenant_id={UNATTRIBUTED}", acme["key"]["key"])
    assert status == 404


def test_audit_entries_reach_the_archive(local_system: LocalSystem, acme: dict[str, Any]) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=local_system.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    prefix = f"audit/{acme['tenant']['tenant_id']}/"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listed = s3.list_objects_v2(Bucket="outpost-audit-archive-local", Prefix=prefix)
        if listed.get("KeyCount"):
            break
        time.sleep(0.3)
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert keys, "no audit entry was archived"
    body = json.loads(
        s3.get_object(Bucket="outpost-audit-archive-local", Key=keys[0])["Body"].read()
    )
    assert body["tenant_id"] == acme["tenant"]["tenant_id"]


def test_handler_logs_carry_request_and_tenant(
    local_system: LocalSystem, acme: dict[str, Any]
) -> None:
    status, body = local_system.call("GET", "/v1/tenants/not-a-uuid", acme["key"]["key"])
    assert status == 404
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        refusals = [
            json.loads(line)
            for line in local_system.logs().splitlines()
            if line.startswith("{") and '"request refused"' in line
        ]
        mine = [r for r in refusals if r.get("request_id") == body["error"]["request_id"]]
        if mine:
            break
        time.sleep(0.1)
    (line,) = mine
    assert line["tenant_id"] == acme["tenant"]["tenant_id"]
    assert line["key_prefix"] == acme["key"]["prefix"]
    assert line["level"] == "INFO"


def test_no_full_key_reaches_the_logs(local_system: LocalSystem, acme: dict[str, Any]) -> None:
    """Runs last: by now every route and the authorizer have logged (at DEBUG)."""
    logs = local_system.logs()
    assert '"level":"INFO"' in logs, "expected captured log output"
    assert len(ISSUED) >= 3
    for key in [local_system.admin_key, *ISSUED]:
        assert key not in logs
        assert key[14:] not in logs  # not even the secret part without its prefix

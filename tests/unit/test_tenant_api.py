"""The tenants, keys and audit routes, driven with API Gateway proxy events on moto."""

import json
from uuid import UUID, uuid4

import pytest

from outpost.data.api_keys import ApiKeyRepository
from outpost.models import Scope
from tests.unit.api import Api, principal


def test_admin_creates_a_tenant(api: Api) -> None:
    tenant = api.new_tenant()
    assert UUID(tenant["tenant_id"])
    assert (tenant["name"], tenant["tier"], tenant["status"]) == ("Acme", "pro", "active")


def test_duplicate_email_conflicts(api: Api) -> None:
    api.new_tenant()
    status, body = api.call(
        "POST", "/v1/tenants", api.admin, {"name": "B", "email": "ops@acme.example"}
    )
    assert (status, body["error"]["type"]) == (409, "conflict")


def test_only_admins_create_or_change_tenants(api: Api) -> None:
    tenant = api.new_tenant()
    me = principal(UUID(tenant["tenant_id"]))
    status, body = api.call("POST", "/v1/tenants", me, {"name": "X", "email": "x@x.example"})
    assert (status, body["error"]["type"]) == (403, "forbidden")
    status, _ = api.call("PATCH", f"/v1/tenants/{tenant['tenant_id']}", me, {"tier": "enterprise"})
    assert status == 403


def test_a_tenant_reads_itself_and_nobody_else(api: Api) -> None:
    mine, theirs = api.new_tenant("a@a.example"), api.new_tenant("b@b.example")
    me = principal(UUID(mine["tenant_id"]))
    assert api.call("GET", f"/v1/tenants/{mine['tenant_id']}", me)[0] == 200
    foreign = api.call("GET", f"/v1/tenants/{theirs['tenant_id']}", me)
    missing = api.call("GET", f"/v1/tenants/{uuid4()}", me)
    assert foreign[0] == missing[0] == 404
    assert foreign[1]["error"]["message"] == missing[1]["error"]["message"]
    assert api.call("GET", "/v1/tenants/not-a-uuid", me)[0] == 404


@pytest.mark.parametrize(
    ("raw", "status", "error_type"),
    [
        ('{"name": "A", "email": "a@a.example", "tier": "platinum"}', 422, "validation_error"),
        ('{"name": "A", "email": "not-an-email"}', 422, "validation_error"),
        ('{"name": "A", "email": "a@a.example", "admin": true}', 422, "validation_error"),
        ('{"name": ', 400, "invalid_json"),
        ("[]", 422, "validation_error"),
        ("", 400, "invalid_request"),
    ],
)
def test_bad_bodies_are_4xx_with_the_error_shape(
    api: Api, raw: str, status: int, error_type: str
) -> None:
    got, body = api.call("POST", "/v1/tenants", api.admin, raw_body=raw)
    assert (got, body["error"]["type"]) == (status, error_type)
    assert body["error"]["request_id"]
    assert "platinum" not in body["error"]["message"]  # the input is not echoed


def test_patch_and_soft_delete_flush_the_authorizer_cache(api: Api) -> None:
    tenant = api.new_tenant()
    path = f"/v1/tenants/{tenant['tenant_id']}"
    status, updated = api.call(
        "PATCH", path, api.admin, {"tier": "enterprise", "status": "suspended"}
    )
    assert (status, updated["tier"], updated["status"]) == (200, "enterprise", "suspended")
    status, deleted = api.call("DELETE", path, api.admin)
    assert (status, deleted["status"]) == (200, "deleted")
    assert api.flushes == [("local", "local"), ("local", "local")]
    assert api.call("PATCH", path, api.admin, {"name": "Back"})[0] == 409


def test_keys_are_shown_once_and_revocable(api: Api) -> None:
    tenant = api.new_tenant()
    tenant_id = tenant["tenant_id"]
    me = principal(UUID(tenant_id))
    status, created = api.call(
        "POST",
        f"/v1/tenants/{tenant_id}/api-keys",
        api.admin,
        {"name": "ci", "environment": "test"},
    )
    assert status == 201
    assert created["key"].startswith("op_test_")
    assert created["prefix"] == created["key"][:14]
    assert "key_hash" not in created
    status, listing = api.call("GET", f"/v1/tenants/{tenant_id}/api-keys", me)
    assert status == 200
    assert [k["key_id"] for k in listing["data"]] == [created["key_id"]]
    assert created["key"] not in json.dumps(listing)
    assert "key_hash" not in json.dumps(listing)
    status, revoked = api.call(
        "DELETE", f"/v1/tenants/{tenant_id}/api-keys/{created['key_id']}", me
    )
    assert status == 200
    assert revoked["revoked_at"]
    assert api.flushes == [("local", "local")]
    stored = ApiKeyRepository(api.store.client, api.store.api_keys).list_for_tenant(UUID(tenant_id))
    assert stored[0].revoked


def test_keys_cannot_escalate_or_cross_tenants(api: Api) -> None:
    mine, theirs = api.new_tenant("a@a.example"), api.new_tenant("b@b.example")
    reader = principal(UUID(mine["tenant_id"]), Scope.TASKS_READ)
    status, body = api.call(
        "POST", f"/v1/tenants/{mine['tenant_id']}/api-keys", reader, {"name": "x"}
    )
    assert (status, body["error"]["type"]) == (403, "forbidden")
    me = principal(UUID(mine["tenant_id"]))
    status, _ = api.call(
        "POST", f"/v1/tenants/{mine['tenant_id']}/api-keys", me, {"name": "x", "scopes": ["admin"]}
    )
    assert status == 403
    assert (
        api.call("POST", f"/v1/tenants/{theirs['tenant_id']}/api-keys", me, {"name": "x"})[0] == 404
    )
    _, their_key = api.call(
        "POST", f"/v1/tenants/{theirs['tenant_id']}/api-keys", api.admin, {"name": "t"}
    )
    path = f"/v1/tenants/{mine['tenant_id']}/api-keys/{their_key['key_id']}"
    assert api.call("DELETE", path, me)[0] == 404
    assert api.call("GET", f"/v1/tenants/{theirs['tenant_id']}/api-keys", me)[0] == 404


def test_every_change_is_audited_and_readable_by_its_tenant(api: Api) -> None:
    tenant = api.new_tenant()
    tenant_id = tenant["tenant_id"]
    _, key = api.call("POST", f"/v1/tenants/{tenant_id}/api-keys", api.admin, {"name": "ci"})
    api.call("DELETE", f"/v1/tenants/{tenant_id}/api-keys/{key['key_id']}", api.admin)
    me = principal(UUID(tenant_id))
    status, trail = api.call("GET", "/v1/audit", me)
    assert status == 200
    actions = [entry["action"] for entry in trail["data"]]
    assert actions == ["api_key.revoked", "api_key.created", "tenant.created"]
    created = trail["data"][1]
    assert created["metadata"] == {
        "source_ip": "198.51.100.7",
        "user_agent": "pytest/1",
        "key_prefix": "op_live_abcdef",
    }
    assert key["key"] not in json.dumps(trail)
    as_admin = api.call("GET", "/v1/audit", api.admin, query={"tenant_id": tenant_id, "limit": "1"})
    assert as_admin[0] == 200
    assert len(as_admin[1]["data"]) == 1
    assert as_admin[1]["next_cursor"]


def test_audit_is_private_and_validated(api: Api) -> None:
    mine, theirs = api.new_tenant("a@a.example"), api.new_tenant("b@b.example")
    me = principal(UUID(mine["tenant_id"]))
    assert api.call("GET", "/v1/audit", me, query={"tenant_id": theirs["tenant_id"]})[0] == 404
    assert api.call("GET", "/v1/audit", me, query={"limit": "0"})[0] == 422
    assert api.call("GET", "/v1/audit", me, query={"since": "yesterday"})[0] == 422
    assert api.call("GET", "/v1/audit", me, query={"cursor": "garbage"})[0] == 400
    api.call("POST", f"/v1/tenants/{theirs['tenant_id']}/api-keys", api.admin, {"name": "t"})
    _, page = api.call(
        "GET", "/v1/audit", api.admin, query={"tenant_id": theirs["tenant_id"], "limit": "1"}
    )
    assert page["next_cursor"]
    stolen = api.call("GET", "/v1/audit", me, query={"cursor": page["next_cursor"]})
    assert stolen[0] == 400
    no_scope = principal(UUID(mine["tenant_id"]), Scope.TASKS_READ)
    assert api.call("GET", "/v1/audit", no_scope)[0] == 403


def test_a_misconfigured_function_is_a_500_not_the_callers_fault(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outpost.handlers import tenants as tenants_handler  # noqa: PLC0415

    monkeypatch.delenv("OUTPOST_TENANTS_TABLE")
    tenants_handler._stores.cache_clear()
    status, body = api.call("POST", "/v1/tenants", api.admin, {"name": "A", "email": "a@a.example"})
    assert (status, body["error"]["type"]) == (500, "internal_error")
    assert "OUTPOST_TENANTS_TABLE" not in body["error"]["message"]


def test_admins_list_tenants_a_page_at_a_time_and_tenants_cannot(api: Api) -> None:
    created = {api.new_tenant(f"list{n}@acme.example")["tenant_id"] for n in range(3)}
    seen: set[str] = set()
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = api.call("GET", "/v1/tenants", api.admin, query=query)
        assert status == 200
        assert len(page["data"]) <= 2
        seen |= {tenant["tenant_id"] for tenant in page["data"]}
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert created <= seen
    someone = principal(UUID(next(iter(created))))
    assert api.call("GET", "/v1/tenants", someone)[0] == 403
    assert api.call("GET", "/v1/tenants", api.admin, query={"cursor": "!!"})[0] == 400

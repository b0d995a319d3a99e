"""The health handler reports the tenant store's reachability and nothing more."""

import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from outpost.data.tables import TENANTS
from outpost.handlers import health
from tests.unit.conftest import Store


class LambdaContext:
    function_name = "health"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:health"
    aws_request_id = "req-1"


@pytest.fixture
def wired(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv(TENANTS.env_var, store.tenants)
    health._settings.cache_clear()
    monkeypatch.setattr(health, "_client", lambda: store.client)
    return store


def test_ok_when_the_table_answers(wired: Store) -> None:
    response = health.handler({"path": "/health"}, LambdaContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


def test_unavailable_without_detail_when_it_does_not(
    wired: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.internal")

    monkeypatch.setattr(wired.client, "get_item", unreachable)
    response = health.handler({"path": "/health"}, LambdaContext())
    assert response["statusCode"] == 503
    assert json.loads(response["body"]) == {"status": "unavailable"}
    assert "dynamodb.internal" not in response["body"]


def test_missing_table_is_unavailable(wired: Store) -> None:
    assert not health.check(wired.client, "no-such-table")

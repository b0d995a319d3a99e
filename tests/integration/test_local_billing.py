"""Billing in local mode over HTTP, against its Stripe stand-in: a tenant gets a customer, a
checkout link, and a signed subscription webhook moves its tier at once."""

import hashlib
import hmac
import json
import time

import boto3
import pytest

from outpost.data.secrets import stripe_secret_name
from tests.integration.conftest import LocalSystem

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]
LOCAL_WORKERS = 0


def webhook_secret(system: LocalSystem) -> str:
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=system.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    value = secrets.get_secret_value(SecretId=stripe_secret_name("local"))["SecretString"]
    return str(json.loads(value)["webhook_secret"])


def test_checkout_and_a_signed_webhook_move_the_tier(local_system: LocalSystem) -> None:
    tenant = local_system.onboard("free", "billing@local.example")
    customer = tenant["tenant"]["stripe_customer_id"]
    assert customer.startswith("cus_")
    status, link = local_system.call(
        "POST", "/v1/billing/checkout", tenant["live"], {"plan": "pro"}
    )
    assert status == 200
    assert link["url"].startswith("http://127.0.0.1:")
    payload = json.dumps(
        {
            "id": "evt_local_1",
            "object": "event",
            "type": "customer.subscription.created",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": "sub_local1",
                    "object": "subscription",
                    "customer": customer,
                    "status": "active",
                    "items": {
                        "object": "list",
                        "data": [{"id": "si_1", "price": {"id": "price_pro"}}],
                    },
                }
            },
        }
    )
    unsigned = local_system.call("POST", "/v1/billing/webhook", raw=payload.encode())
    assert unsigned[0] == 400
    at = int(time.time())
    digest = hmac.new(
        webhook_secret(local_system).encode(), f"{at}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    status, answer = local_system.call(
        "POST",
        "/v1/billing/webhook",
        raw=payload.encode(),
        headers={"Stripe-Signature": f"t={at},v1={digest}"},
    )
    assert (status, answer["outcome"]) == (200, "applied")
    assert local_system.call("GET", "/v1/usage", tenant["live"])[1]["tier"] == "pro"

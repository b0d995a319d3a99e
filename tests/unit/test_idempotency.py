"""Idempotency-Key on task submission: replay, mismatch, scope, and refusals not stored."""

from uuid import UUID, uuid4

import boto3

from outpost.models import Tier
from tests.unit.api import Api, principal

TASK = {"repo": "octo-org/hello-world", "task": "Add a README", "executor": "claude"}


def new_principal(api: Api, tier: Tier = Tier.PRO) -> object:
    created = api.new_tenant(f"{uuid4().hex[:8]}@idem.example", tier=tier.value)
    return principal(UUID(created["tenant_id"]), tier=tier)


def queued(api: Api, tier: Tier = Tier.PRO) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=api.queue_urls[tier], AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_same_key_and_body_replays_the_first_response(api: Api) -> None:
    me = new_principal(api)
    first = api.call("POST", "/v1/tasks", me, TASK, headers={"Idempotency-Key": "order-42"})
    again = api.call("POST", "/v1/tasks", me, TASK, headers={"idempotency-key": "order-42"})
    assert first[0] == again[0] == 202
    assert first[1] == again[1]
    assert queued(api) == 1
    assert api.call("GET", "/v1/usage", me)[1]["today"]["requests"] == 1


def test_same_key_with_another_body_is_refused(api: Api) -> None:
    me = new_principal(api)
    api.call("POST", "/v1/tasks", me, TASK, headers={"Idempotency-Key": "k1"})
    status, body = api.call(
        "POST",
        "/v1/tasks",
        me,
        {**TASK, "task": "something else"},
        headers={"Idempotency-Key": "k1"},
    )
    assert (status, body["error"]["type"]) == (422, "idempotency_key_mismatch")
    assert queued(api) == 1


def test_keys_are_scoped_to_the_tenant(api: Api) -> None:
    first, second = new_principal(api), new_principal(api)
    a = api.call("POST", "/v1/tasks", first, TASK, headers={"Idempotency-Key": "shared"})[1]
    b = api.call("POST", "/v1/tasks", second, TASK, headers={"Idempotency-Key": "shared"})[1]
    assert a["task_id"] != b["task_id"]


def test_a_refused_request_is_not_stored_so_a_fixed_retry_works(api: Api) -> None:
    free = new_principal(api, Tier.FREE)
    refused = api.call(
        "POST",
        "/v1/tasks",
        free,
        {**TASK, "executor": "codex"},
        headers={"Idempotency-Key": "retry-me"},
    )
    assert refused[0] == 403
    fixed = api.call("POST", "/v1/tasks", free, TASK, headers={"Idempotency-Key": "retry-me"})
    assert fixed[0] == 202


def test_without_a_key_every_submission_is_new(api: Api) -> None:
    me = new_principal(api)
    a = api.call("POST", "/v1/tasks", me, TASK)[1]
    b = api.call("POST", "/v1/tasks", me, TASK)[1]
    assert a["task_id"] != b["task_id"]


def test_a_malformed_key_is_400(api: Api) -> None:
    me = new_principal(api)
    status, body = api.call("POST", "/v1/tasks", me, TASK, headers={"Idempotency-Key": "x" * 256})
    assert (status, body["error"]["type"]) == (400, "invalid_request")

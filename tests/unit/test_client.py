"""The SDK's transport behaviour, against httpx's mock transport: configuration, typed
errors, retries that honour Retry-After, and the automatic Idempotency-Key."""

import json

import httpx
import pytest

from outpost.client import ApiError, ConfigurationError, Outpost

KEY = "op_live_" + "a" * 32
TASK_VIEW = {
    "task_id": "tsk_" + "1" * 24, "status": "completed", "executor": "claude", "repo": "o/r",
    "ref": None, "context": "standard", "created_at": "2026-11-23T00:00:00.000000Z",
    "started_at": None, "completed_at": None, "output_url": None, "changes": "none",
    "branch": None, "exit_code": 0, "error": None, "cancel_requested": False, "runs": [],
}  # fmt: skip
SUBMITTED = {"task_id": "tsk_" + "1" * 24, "status": "queued", "estimated_wait": "0s"}


def error(status: int, type_: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"type": type_, "message": "no", "request_id": "req-1"}}
    return httpx.Response(status, json=body, headers=headers)


def client(answers: list[httpx.Response], seen: list[httpx.Request], slept: list[float]) -> Outpost:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return Outpost(
        KEY, "http://api.test", transport=httpx.MockTransport(handle), sleep=slept.append
    )


def test_key_and_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTPOST_API_KEY", raising=False)
    with pytest.raises(ConfigurationError):
        Outpost()
    monkeypatch.setenv("OUTPOST_API_KEY", KEY)
    monkeypatch.setenv("OUTPOST_API_URL", "http://example.test/")
    assert Outpost().base_url == "http://example.test"


def test_refusals_are_typed_errors_with_the_request_id() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ApiError) as raised:
        client([error(404, "not_found")], seen, []).get_task("tsk_x")
    assert (raised.value.status, raised.value.type, raised.value.request_id) == (
        404,
        "not_found",
        "req-1",
    )
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"


def test_throttling_is_retried_after_its_retry_after() -> None:
    seen: list[httpx.Request] = []
    slept: list[float] = []
    answers = [
        error(429, "rate_limited", {"Retry-After": "2"}),
        httpx.Response(200, json=TASK_VIEW),
    ]
    assert client(answers, seen, slept).get_task("tsk_x").status == "completed"
    assert slept == [2.0]


def test_a_used_up_quota_is_not_retried() -> None:
    slept: list[float] = []
    with pytest.raises(ApiError) as raised:
        client([error(429, "quota_exceeded", {"Retry-After": "36000"})], [], slept).get_task("t")
    assert raised.value.type == "quota_exceeded"
    assert slept == []


def test_server_errors_back_off_and_give_up_after_the_retries() -> None:
    slept: list[float] = []
    answers = [error(503, "unavailable") for _ in range(5)]
    with pytest.raises(ApiError) as raised:
        client(answers, [], slept).usage()
    assert raised.value.status == 503
    assert len(slept) == 4
    assert all(0 < wait <= 30 for wait in slept)


def test_a_dropped_connection_is_retried() -> None:
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("reset", request=request)
        return httpx.Response(200, json=TASK_VIEW)

    outpost = Outpost(
        KEY, "http://api.test", transport=httpx.MockTransport(handle), sleep=lambda _: None
    )
    assert outpost.get_task("t").task_id == TASK_VIEW["task_id"]
    assert len(calls) == 2


def test_a_submission_carries_one_idempotency_key_through_its_retries() -> None:
    seen: list[httpx.Request] = []
    answers = [error(502, "bad_gateway"), httpx.Response(202, json=SUBMITTED)]
    submitted = client(answers, seen, []).submit_task("o/r", "do it", executor="codex")
    assert submitted.status == "queued"
    keys = {request.headers["Idempotency-Key"] for request in seen}
    assert len(seen) == 2
    assert len(keys) == 1
    assert json.loads(seen[0].content) == {
        "repo": "o/r",
        "task": "do it",
        "executor": "codex",
        "context": "standard",
    }
    seen.clear()
    client([httpx.Response(202, json=SUBMITTED)], seen, []).submit_task(
        "o/r", "x", idempotency_key="mine-1"
    )
    assert seen[0].headers["Idempotency-Key"] == "mine-1"


def test_wait_polls_until_the_task_ends() -> None:
    running = {**TASK_VIEW, "status": "processing"}
    answers = [
        httpx.Response(200, json=running),
        httpx.Response(200, json=running),
        httpx.Response(200, json=TASK_VIEW),
    ]
    slept: list[float] = []
    updates: list[str] = []
    done = client(answers, [], slept).wait(
        "tsk_x", poll_seconds=0.5, on_update=lambda task: updates.append(task.status)
    )
    assert done.status == "completed"
    assert updates == ["processing", "processing", "completed"]
    assert slept == [0.5, 0.5]

"""The SDK against local mode: an admin onboards a tenant, the tenant stores its key, submits
a task that a stand-in agent completes, waits for it, and reads everything back."""

from pathlib import Path
from typing import Any

import pytest

from outpost.client import ApiError, Outpost
from tests.integration.conftest import LocalSystem
from tests.integration.test_local_worker import REPO, local_environment, playground

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]
__all__ = ["local_environment", "playground"]  # the stand-in agent and bare repositories


@pytest.fixture(scope="module")
def onboarded(local_system: LocalSystem) -> dict[str, Any]:
    with Outpost(local_system.admin_key, local_system.url) as admin:
        tenant = admin.create_tenant("SDK Co", "sdk@sdk.example", tier="pro")
        key = admin.create_key(str(tenant.tenant_id), "sdk")
        assert [k.key_id for k in admin.list_keys(str(tenant.tenant_id)).data] == [key.key_id]
    return {"tenant": tenant, "key": key.key}


def test_a_task_from_submission_to_its_end(
    local_system: LocalSystem, onboarded: dict[str, Any], playground: Path
) -> None:
    with Outpost(onboarded["key"], local_system.url) as outpost:
        assert outpost.set_secret("anthropic", "sk-ant-sdk-" + "9" * 20).hint.endswith("9999")
        assert [s.provider for s in outpost.list_secrets().data] == ["anthropic"]
        submitted = outpost.submit_task(REPO, "Add notes from the SDK")
        seen: list[str] = []
        done = outpost.wait(
            submitted.task_id,
            timeout=60,
            poll_seconds=0.2,
            on_update=lambda t: seen.append(t.status),
        )
        assert (done.status, done.changes, done.branch) == (
            "completed",
            "committed",
            f"outpost/{submitted.task_id}",
        )
        assert seen[-1] == "completed"
        assert submitted.task_id in [t.task_id for t in outpost.list_tasks().data]
        assert outpost.usage().requests >= 1
        actions = {entry.action for entry in outpost.audit().data}
        assert {"task_submitted", "secret_stored"} <= actions


def test_refusals_arrive_as_typed_errors(
    local_system: LocalSystem, onboarded: dict[str, Any]
) -> None:
    with Outpost(onboarded["key"], local_system.url) as outpost:
        with pytest.raises(ApiError) as raised:
            outpost.get_task("tsk_" + "0" * 24)
        assert (raised.value.status, raised.value.type) == (404, "not_found")
        assert raised.value.request_id
        with pytest.raises(ApiError) as raised:
            outpost.create_tenant("Nope", "nope@sdk.example")
        assert raised.value.status == 403
        task = outpost.submit_task(REPO, "sleep-long, then be cancelled")
        assert outpost.cancel_task(task.task_id).cancel_requested

"""The API against a generator nobody here wrote: schemathesis derives requests for every
operation of docs/api/openapi.yaml, sends them to local mode with a valid tenant key, and
checks that no answer is a 5xx and every answer conforms to the document. Bounded: a fixed
number of examples per operation, derandomized, so CI's time is predictable."""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.integration.conftest import LocalSystem

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]
LOCAL_WORKERS = 0
EXAMPLES_PER_OPERATION = 15

schema = schemathesis.openapi.from_path("docs/api/openapi.yaml")
# No 5xx, and every answer as documented (status, content type, body, headers). Not
# "positive data acceptance": a tenant's key is rightly refused on admin routes, and an
# unsigned webhook is rightly refused, though their bodies are schema-valid.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def fuzzer(local_system: LocalSystem) -> dict[str, Any]:
    return local_system.onboard("enterprise", "fuzz@fuzz.example")


@pytest.fixture(scope="module")
def victim(local_system: LocalSystem) -> list[str]:
    """Another tenant with a task and a stored key: none of it may show in the fuzzer's answers."""
    other = local_system.onboard("pro", "victim@fuzz.example")
    task = {"repo": "victim-org/secret-repo", "task": "private work", "executor": "claude"}
    _, submitted = local_system.call("POST", "/v1/tasks", other["live"], task)
    local_system.call(
        "PUT", "/v1/secrets/github", other["live"], {"value": "ghp_victim_" + "v" * 20}
    )
    return [
        other["tenant"]["tenant_id"],
        submitted["task_id"],
        "victim-org/secret-repo",
        "ghp_victim_",
    ]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_and_never_fails(
    case: schemathesis.Case, local_system: LocalSystem, fuzzer: dict[str, Any], victim: list[str]
) -> None:
    response = case.call_and_validate(
        base_url=local_system.url,
        headers={"Authorization": f"Bearer {fuzzer['live']}"},
        checks=CHECKS,
    )
    leaked = [secret for secret in victim if secret in response.text]
    assert not leaked, f"{case.method} {case.formatted_path} showed another tenant's {leaked}"

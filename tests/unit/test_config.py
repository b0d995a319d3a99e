"""Per-environment settings: defaults merged with overrides, validated, frozen."""

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from pydantic import ValidationError

from cdk_app.application import cdk_json_context
from cdk_app.config import CONTEXT_KEY, EnvironmentSettings, load_environments
from outpost.models import TIERS


@pytest.fixture(scope="module")
def environments() -> dict[str, EnvironmentSettings]:
    return dict(load_environments(cdk_json_context()[CONTEXT_KEY]))


def test_cdk_json_declares_dev_staging_prod(environments: dict[str, EnvironmentSettings]) -> None:
    assert list(environments) == ["dev", "staging", "prod"]
    assert [s.stack_name for s in environments.values()] == [
        "Outpost-dev",
        "Outpost-staging",
        "Outpost-prod",
    ]


def test_prod_retains_and_dev_may_be_destroyed(
    environments: dict[str, EnvironmentSettings],
) -> None:
    assert environments["prod"].cdk_removal_policy == RemovalPolicy.RETAIN
    assert environments["staging"].cdk_removal_policy == RemovalPolicy.RETAIN
    assert environments["dev"].cdk_removal_policy == RemovalPolicy.DESTROY


def test_overrides_merge_into_defaults(environments: dict[str, EnvironmentSettings]) -> None:
    dev, prod = environments["dev"], environments["prod"]
    assert dev.workers.max_capacity == 5
    assert dev.workers.fargate_spot
    assert dev.workers.cpu == prod.workers.cpu == 512  # untouched defaults survive the merge
    assert prod.workers.max_capacity == 50
    assert prod.queues.visibility_timeout_seconds == 900
    assert prod.queues.retention_days == 14
    assert prod.alarms.dlq_depth == 10
    assert prod.tiers is TIERS


def test_lambda_runtime_is_resolved(environments: dict[str, EnvironmentSettings]) -> None:
    lambda_settings = environments["dev"].lambda_
    assert lambda_settings.lambda_runtime.name == lambda_.Runtime.PYTHON_3_14.name
    assert lambda_settings.python_version == "3.14"


def test_settings_are_frozen(environments: dict[str, EnvironmentSettings]) -> None:
    with pytest.raises(ValidationError):
        environments["dev"].removal_policy = "retain"  # type: ignore[misc]


@pytest.mark.parametrize(
    "override",
    [
        {"removal_policy": "maybe"},
        {"log_retention": "FOREVER_AND_A_DAY"},
        {"lambda": {"runtime": "python3.99"}},
        {"workers": {"cpu": 300}},
        {"queues": {"retention_days": 15}},
        {"unknown_setting": 1},
    ],
)
def test_invalid_settings_are_refused(override: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        load_environments({"environments": {"dev": override}})


def test_no_environment_is_an_error() -> None:
    with pytest.raises(ValueError, match="declares no environment"):
        load_environments({"defaults": {}})

"""Observability: one dashboard per environment, every operational alarm on the alarm topic,
with the thresholds the config gives, and traces from every function."""

import json

import pytest
from aws_cdk.assertions import Template

from cdk_app.application import cdk_json_context
from cdk_app.config import load_environments
from tests.infra.conftest import ENVIRONMENTS

SETTINGS = load_environments(cdk_json_context()["outpost"])


def alarms_by_description(template: Template) -> dict[str, dict]:
    return {
        a["Properties"]["AlarmDescription"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_environment_has_its_dashboard(templates: dict[str, Template], env: str) -> None:
    (dashboard,) = templates[env].find_resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"outpost-{env}"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for shown in ("API requests and errors", "Authorizer duration", "Backlog", "Queue wait",
                  "Run duration by executor", "RunningTaskCount", "AuthDenied"):  # fmt: skip
        assert shown in body


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_operational_alarms_and_their_thresholds(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    thresholds = SETTINGS[env].alarms
    alarms = alarms_by_description(template)
    topic = next(iter(template.find_resources("AWS::SNS::Topic")))

    def alarm(starts: str) -> dict:
        (found,) = [a for d, a in alarms.items() if d.startswith(starts)]
        assert found["AlarmActions"] == [{"Ref": topic}]
        return found

    api = alarm("API: more than")
    assert api["Threshold"] == thresholds.api_5xx_percent
    assert any("100 * errors / requests" in m.get("Expression", "") for m in api["Metrics"])
    authorizer = alarm("Authorizer: p99 latency")
    assert (authorizer["Threshold"], authorizer["ExtendedStatistic"]) == (
        thresholds.authorizer_p99_ms,
        "p99",
    )
    assert alarm("Workers: more than")["Threshold"] == thresholds.run_failures
    assert alarm("Workers: error lines")["MetricName"] == "WorkerErrors"
    assert alarm("Runs failed every attempt")["Threshold"] == thresholds.dlq_depth
    assert {a["Threshold"] for d, a in alarms.items() if "waiting too long" in d} == {
        thresholds.oldest_message_age_seconds
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_function_is_traced(templates: dict[str, Template], env: str) -> None:
    for function in templates[env].find_resources("AWS::Lambda::Function").values():
        if function["Properties"].get("Handler", "").startswith("outpost."):
            assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}

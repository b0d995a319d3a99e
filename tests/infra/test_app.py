"""The app builds one stack per environment, or only the one `-c env=NAME` names."""

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from cdk_app.application import build, cdk_json_context
from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.platform import Platform


def app_with(**context: object) -> App:
    return App(context=cdk_json_context() | {"aws:cdk:bundling-stacks": []} | context)


def test_every_environment_by_default() -> None:
    names = [stack.stack_name for stack in build(app_with(), nag=False)]
    assert names == ["Outpost-dev", "Outpost-staging", "Outpost-prod"]


def test_only_the_named_environment() -> None:
    (stack,) = build(app_with(env="prod"), nag=False)
    assert stack.stack_name == "Outpost-prod"
    assert stack.settings.name == "prod"


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown environment 'qa'"):
        build(app_with(env="qa"), nag=False)


def alarm_topic_template(email: str | None) -> Template:
    stack = Stack(App(), "Probe")
    settings = EnvironmentSettings.model_validate({"name": "probe", "alarms": {"email": email}})
    Platform(stack, "Platform", settings=settings)
    return Template.from_stack(stack)


def test_alarm_subscriber_comes_from_config() -> None:
    alarm_topic_template("oncall@outpost.example").has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@outpost.example"}
    )
    alarm_topic_template(None).resource_count_is("AWS::SNS::Subscription", 0)

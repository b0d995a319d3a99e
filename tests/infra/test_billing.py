"""Billing: the Stripe keys' secret, who may read it, the public webhook, the reconciler."""

import json

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import ENVIRONMENTS


def function_id(template: Template, handler: str) -> str:
    (found,) = [
        name
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == handler
    ]
    return found


def policy_text(template: Template, handler: str) -> str:
    role = template.find_resources("AWS::Lambda::Function")[function_id(template, handler)][
        "Properties"
    ]["Role"]
    role_id = role["Fn::GetAtt"][0]
    return json.dumps(
        [
            p
            for p in template.find_resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in p["Properties"]["Roles"]
        ]
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stripe_keys_live_in_an_encrypted_secret_only_billing_reads(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    secrets = template.find_resources("AWS::SecretsManager::Secret")
    (secret_id,) = [
        n for n, s in secrets.items() if s["Properties"]["Name"] == f"outpost/{env}/stripe"
    ]
    assert "KmsKeyId" in secrets[secret_id]["Properties"]
    for handler in ("outpost.handlers.billing.handler", "outpost.handlers.tenants.handler"):
        assert secret_id in policy_text(template, handler)
    for handler in ("outpost.handlers.tasks.handler", "outpost.handlers.authorizer.handler"):
        assert secret_id not in policy_text(template, handler)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_webhook_is_public_and_everything_else_of_billing_is_not(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    resources = template.find_resources("AWS::ApiGateway::Resource")
    paths = {name: r["Properties"]["PathPart"] for name, r in resources.items()}
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"].get("Ref")
        if paths.get(resource) == "webhook":
            assert props["AuthorizationType"] == "NONE"
        elif paths.get(resource) in {"checkout", "portal"}:
            assert props["AuthorizationType"] == "CUSTOM"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_usage_is_reconciled_daily(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    reconciler = function_id(template, "outpost.handlers.reconciler.handler")
    rules = [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [reconciler, "Arn"]} for t in r["Properties"]["Targets"])
    ]
    assert [r["ScheduleExpression"] for r in rules] == ["cron(15 3 * * ? *)"]
    text = policy_text(template, "outpost.handlers.reconciler.handler")
    assert "dynamodb:Scan" in text
    assert "dynamodb:DeleteItem" not in text

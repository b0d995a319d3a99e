"""AuthApi: a TOKEN authorizer on every route but /health, JSON errors, logging, least privilege."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from outpost.api.routes import ROUTES, RouteGroup
from outpost.data.tables import TENANTS
from outpost.models.tier import TIERS, Tier
from outpost.services.auth import AUTHORIZATION_PATTERN
from outpost.services.rate_limits import usage_plan_name
from tests.infra.conftest import ENVIRONMENTS


def one(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = template.find_resources(kind).items()
    return logical_id, resource


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_token_authorizer_with_a_300_second_cache_and_a_format_precheck(
    templates: dict[str, Template], env: str
) -> None:
    _, authorizer = one(templates[env], "AWS::ApiGateway::Authorizer")
    props = authorizer["Properties"]
    assert props["Type"] == "TOKEN"
    assert props["AuthorizerResultTtlInSeconds"] == 300
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["IdentityValidationExpression"] == AUTHORIZATION_PATTERN


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_route_but_health_is_authorized(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    authorizer_id, _ = one(template, "AWS::ApiGateway::Authorizer")
    methods = template.find_resources("AWS::ApiGateway::Method")
    by_verb: dict[str, int] = {}
    for method in methods.values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            continue
        by_verb[props["HttpMethod"]] = by_verb.get(props["HttpMethod"], 0) + 1
        if props["AuthorizationType"] == "NONE":
            continue
        assert props["AuthorizationType"] == "CUSTOM"
        assert props["AuthorizerId"] == {"Ref": authorizer_id}
    assert sum(by_verb.values()) == len(ROUTES)
    unauthenticated = [
        m for m in methods.values() if m["Properties"]["AuthorizationType"] == "NONE"
    ]
    # The health check and Stripe's webhook (which carries Stripe's signature instead).
    assert len(unauthenticated) == len([r for r in ROUTES if not r.authorized]) == 2


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stage_logs_access_with_principal_and_request_id_and_throttles(
    templates: dict[str, Template], env: str
) -> None:
    _, stage = one(templates[env], "AWS::ApiGateway::Stage")
    props = stage["Properties"]
    assert props["StageName"] == env
    log_format = json.loads(props["AccessLogSetting"]["Format"])
    assert log_format["request_id"] == "$context.requestId"
    assert log_format["key_prefix"] == "$context.authorizer.principalId"
    (method_settings,) = props["MethodSettings"]
    assert method_settings["LoggingLevel"] == "ERROR"
    assert method_settings["DataTraceEnabled"] is False
    assert method_settings["ThrottlingRateLimit"] > 0
    assert props["TracingEnabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(
    ("response_type", "status", "error_type"),
    [
        ("UNAUTHORIZED", "401", "unauthorized"),
        ("ACCESS_DENIED", "403", "forbidden"),
        ("THROTTLED", "429", "rate_limited"),
        ("MISSING_AUTHENTICATION_TOKEN", "404", "not_found"),
        ("DEFAULT_5XX", None, "internal_error"),
    ],
)
def test_gateway_errors_have_the_api_error_shape(
    templates: dict[str, Template],
    env: str,
    response_type: str,
    status: str | None,
    error_type: str,
) -> None:
    responses = templates[env].find_resources(
        "AWS::ApiGateway::GatewayResponse", {"Properties": {"ResponseType": response_type}}
    )
    ((_, response),) = responses.items()
    assert response["Properties"].get("StatusCode") == status
    template = response["Properties"]["ResponseTemplates"]["application/json"]
    assert f'"type":"{error_type}"' in template
    assert '"request_id":"$context.requestId"' in template


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_one_function_per_route_group_running_the_runtime_handlers(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    for group in RouteGroup:
        template.has_resource_properties(
            "AWS::Lambda::Function",
            {"Handler": group.handler, "Runtime": "python3.14", "Architectures": ["arm64"]},
        )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "outpost.handlers.authorizer.handler",
            "Environment": {
                "Variables": Match.object_like({"OUTPOST_AUTH_ALLOW_CACHE_SECONDS": "30"})
            },
        },
    )


def policy_of(template: Template, handler: str) -> list[dict[str, Any]]:
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": handler}}
    )
    ((_, function),) = functions.items()
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_health_may_only_read_one_tenant_item(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    tenants = next(
        logical
        for logical, table in template.find_resources("AWS::DynamoDB::Table").items()
        if table["Properties"]["TableName"] == TENANTS.table_name(env)
    )
    statements = policy_of(template, RouteGroup.HEALTH.handler)
    dynamo = [s for s in statements if str(s["Action"]).startswith("dynamodb")]
    assert dynamo == [
        {
            "Action": "dynamodb:GetItem",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [tenants, "Arn"]},
        }
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_functions_that_set_tiers_may_flush_the_authorizer_cache(
    templates: dict[str, Template], env: str
) -> None:
    template = templates[env]
    for group in RouteGroup:
        flushes = [
            s for s in policy_of(template, group.handler) if s["Action"] == "apigateway:DELETE"
        ]
        assert bool(flushes) is (group in {RouteGroup.TENANTS, RouteGroup.BILLING})
        for statement in flushes:
            assert f"/stages/{env}/cache/authorizers" in json.dumps(statement["Resource"])


def test_waf_guards_staging_and_prod_and_is_off_in_dev(templates: dict[str, Template]) -> None:
    assert not templates["dev"].find_resources("AWS::WAFv2::WebACL")
    for env in ("staging", "prod"):
        templates[env].resource_count_is("AWS::WAFv2::WebACLAssociation", 1)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_per_tenant_rate_limits_by_tier(templates: dict[str, Template], env: str) -> None:
    template = templates[env]
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"ApiKeySourceType": "AUTHORIZER"})
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        assert props.get("ApiKeyRequired", False) is (props["AuthorizationType"] == "CUSTOM")
    plans = {
        plan["Properties"]["UsagePlanName"]: plan["Properties"]
        for plan in template.find_resources("AWS::ApiGateway::UsagePlan").values()
    }
    assert set(plans) == {usage_plan_name(env, tier) for tier in Tier}
    for tier in Tier:
        plan = plans[usage_plan_name(env, tier)]
        assert plan["Throttle"] == {
            "RateLimit": TIERS[tier].requests_per_second,
            "BurstLimit": TIERS[tier].burst,
        }
        assert len(plan["ApiStages"]) == 1

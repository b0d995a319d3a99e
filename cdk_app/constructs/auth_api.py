"""AuthApi: the REST API, its TOKEN authorizer, and one function per route group.

Routes come from the runtime's route table (runtime/outpost/api/routes.py), the same one
local mode serves. Every route but /health is behind the authorizer. API Gateway's own
errors (401, 403, 404, 429, 4xx/5xx) carry the API's JSON error shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Acknowledgment, Aws, Duration, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.function import RuntimeFunction, log_group
from outpost.api.routes import ROUTES, RouteGroup
from outpost.services.auth import AUTHORIZATION_PATTERN
from outpost.services.rate_limits import usage_plan_name

# The functions that change tenants' tiers (admins; billing's webhook): they move tenants
# between usage plans and flush the authorizer's cached policies, which carry the tier.
TIER_SETTERS = (RouteGroup.TENANTS, RouteGroup.BILLING)

# API Gateway's own answers, in the API's error shape. $context.error.messageString is quoted.
GATEWAY_ERRORS: tuple[tuple[apigateway.ResponseType, str | None, str, str], ...] = (
    (apigateway.ResponseType.UNAUTHORIZED, "401", "unauthorized", "$context.error.messageString"),
    (
        apigateway.ResponseType.ACCESS_DENIED,
        "403",
        "forbidden",
        '"this key may not access the API"',
    ),
    (apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "not_found", '"no such route"'),
    (apigateway.ResponseType.THROTTLED, "429", "rate_limited", '"too many requests"'),
    (apigateway.ResponseType.QUOTA_EXCEEDED, "429", "quota_exceeded", '"request quota exceeded"'),
    (
        apigateway.ResponseType.BAD_REQUEST_BODY,
        "400",
        "invalid_request",
        "$context.error.messageString",
    ),
    (apigateway.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large", '"request too large"'),
    (apigateway.ResponseType.DEFAULT_4_XX, None, "invalid_request", "$context.error.messageString"),
    (apigateway.ResponseType.DEFAULT_5_XX, None, "internal_error", '"internal error"'),
)

ACCESS_LOG_FIELDS = {
    "request_id": "$context.requestId",
    "time": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "user_agent": "$context.identity.userAgent",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "latency_ms": "$context.responseLatency",
    "integration_latency_ms": "$context.integrationLatency",
    "key_prefix": "$context.authorizer.principalId",
    "tenant_id": "$context.authorizer.tenant_id",
    "authorizer_latency_ms": "$context.authorizer.latency",
    "error": "$context.error.message",
}


class AuthApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        environment: Mapping[str, str],
    ) -> None:
        """``environment``: what every function of the API is told of the stores it uses."""
        super().__init__(scope, construct_id)
        api_settings = settings.api
        self.authorizer = RuntimeFunction(
            self,
            "Authorizer",
            settings=settings,
            handler="outpost.handlers.authorizer.handler",
            description="TOKEN authorizer: API key to tenant principal",
            environment={
                **environment,
                "OUTPOST_AUTH_ALLOW_CACHE_SECONDS": str(
                    api_settings.authorizer_allow_cache_seconds
                ),
                "OUTPOST_AUTH_DENY_CACHE_SECONDS": str(api_settings.authorizer_deny_cache_seconds),
            },
            timeout=Duration.seconds(10),
        )
        self.handlers = {
            group: RuntimeFunction(
                self,
                f"{group.value.title()}Handler",
                settings=settings,
                handler=group.handler,
                description=f"API routes: {group.value}",
                environment=environment,
            )
            for group in RouteGroup
        }

        access_log = log_group(self, "AccessLog", settings)
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=f"outpost-{settings.name}",
            description=f"Outpost {settings.name} API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            cloud_watch_role=True,
            # Per-tenant rate limits: the authorizer names each tenant's usage-plan key.
            api_key_source_type=apigateway.ApiKeySourceType.AUTHORIZER,
            deploy_options=apigateway.StageOptions(
                stage_name=settings.name,
                access_log_destination=apigateway.LogGroupLogDestination(access_log),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies may hold secrets: never log them
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=api_settings.throttle_rate_per_second,
                throttling_burst_limit=api_settings.throttle_burst,
            ),
        )
        self.token_authorizer = apigateway.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=self.authorizer.function,
            identity_source=apigateway.IdentitySource.header("Authorization"),
            validation_regex=AUTHORIZATION_PATTERN,
            results_cache_ttl=Duration.seconds(api_settings.authorizer_cache_seconds),
        )
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        # API Gateway's models are JSON Schema draft 4; it checks only that a body is a JSON
        # object, and the handlers validate it in full with pydantic.
        json_object = self.rest_api.add_model(
            "JsonObject",
            content_type="application/json",
            schema=apigateway.JsonSchema(
                schema=apigateway.JsonSchemaVersion.DRAFT4, type=apigateway.JsonSchemaType.OBJECT
            ),
        )
        integrations = {
            group: apigateway.LambdaIntegration(handler.function, proxy=True)
            for group, handler in self.handlers.items()
        }
        for route in ROUTES:
            method = self.rest_api.root.resource_for_path(route.path).add_method(
                route.method,
                integrations[route.group],
                authorizer=self.token_authorizer if route.authorized else None,
                authorization_type=(
                    apigateway.AuthorizationType.CUSTOM
                    if route.authorized
                    else apigateway.AuthorizationType.NONE
                ),
                request_validator=validator,
                api_key_required=route.authorized,
                request_models=(
                    {"application/json": json_object}
                    if route.method in {"POST", "PATCH", "PUT"}
                    else None
                ),
            )
            if route.authorized:
                Validations.of(method).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions-COG4",
                        reason="Tenants authenticate with API keys through the Lambda TOKEN "
                        "authorizer, by design; there are no Cognito users.",
                    )
                )
            else:
                reason = f"Public: {route.public_because}."
                Validations.of(method).acknowledge(
                    Acknowledgment(id="AwsSolutions-APIG4", reason=reason),
                    Acknowledgment(id="AwsSolutions-COG4", reason=reason),
                )
        for response_type, status, error_type, message in GATEWAY_ERRORS:
            template = (
                f'{{"error":{{"type":"{error_type}","message":{message},'
                '"request_id":"$context.requestId"}}'
            )
            self.rest_api.add_gateway_response(
                f"{error_type.title().replace('_', '')}{status or 'Default'}",
                type=response_type,
                status_code=status,
                templates={"application/json": template},
                # Throttling clears within a second at the tiers' rates.
                response_headers={"Retry-After": "'1'"} if error_type == "rate_limited" else None,
            )

        # Revocation flushes the stage's authorizer cache (see outpost.api.authorizer_cache).
        stage_arn = Stack.of(self).format_arn(
            service="apigateway",
            account="",
            resource="restapis",
            resource_name=f"{self.rest_api.rest_api_id}/stages/{settings.name}/cache/authorizers",
        )
        for group in TIER_SETTERS:
            self.handlers[group].role.add_to_principal_policy(
                iam.PolicyStatement(actions=["apigateway:DELETE"], resources=[stage_arn])
            )
        self._add_usage_plans(settings)
        self._acknowledge_account_logging_role()
        if api_settings.waf:
            self._attach_waf(settings)
        else:
            Validations.of(self.rest_api.deployment_stage).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-APIG3",
                    reason="WAF is off by this environment's config (dev, to keep its idle cost "
                    "down); the authorizer's validation expression and stage throttling remain.",
                )
            )

    def handler(self, group: RouteGroup) -> RuntimeFunction:
        return self.handlers[group]

    def _add_usage_plans(self, settings: EnvironmentSettings) -> None:
        """One usage plan per tier, throttled at the tier's rate and burst; the tenants
        handler puts each tenant's key into its tier's plan (outpost.services.rate_limits)."""
        for tier, limits in settings.tiers.items():
            self.rest_api.add_usage_plan(
                f"{tier.value.title()}Plan",
                name=usage_plan_name(settings.name, tier),
                description=f"Outpost {settings.name}: {tier.value} tier request rate",
                throttle=apigateway.ThrottleSettings(
                    rate_limit=limits.requests_per_second, burst_limit=limits.burst
                ),
                api_stages=[
                    apigateway.UsagePlanPerApiStage(
                        api=self.rest_api, stage=self.rest_api.deployment_stage
                    )
                ],
            )

        def path(resource: str) -> str:
            # Pseudo-parameters, not the stack's region: the same ARN (and acknowledgment)
            # whether or not the stack is bound to a region.
            return f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::{resource}"

        reason = (
            "Onboarding creates one usage-plan key per tenant and moves it between the tier "
            "plans; key ids exist only at run time, and the paths are API keys and plan keys only."
        )
        for group in TIER_SETTERS:
            role = self.handlers[group].role
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["apigateway:GET", "apigateway:POST", "apigateway:DELETE"],
                    resources=[
                        path("/apikeys"),
                        path("/apikeys/*"),
                        path("/usageplans"),
                        path("/usageplans/*/keys"),
                        path("/usageplans/*/keys/*"),
                    ],
                )
            )
            Validations.of(role).acknowledge(
                *(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::{p}]",
                        reason=reason,
                    )
                    for p in ("/apikeys/*", "/usageplans/*/keys", "/usageplans/*/keys/*")
                )
            )

    def _acknowledge_account_logging_role(self) -> None:
        role = self.rest_api.node.find_child("CloudWatchRole")
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                reason="API Gateway's account-level logging role: this AWS-managed policy is "
                "the documented one, and it is what execution logging (APIG6) requires.",
            )
        )

    def _attach_waf(self, settings: EnvironmentSettings) -> None:
        """AWS's common and known-bad-input rule sets, and a per-IP rate limit."""

        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=_visibility(name),
            )

        rate_limit = wafv2.CfnWebACL.RuleProperty(
            name="RatePerIp",
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP", limit=2000
                )
            ),
            visibility_config=_visibility("RatePerIp"),
        )
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"outpost-{settings.name}"),
            rules=[
                rate_limit,
                managed("AWSManagedRulesCommonRuleSet", 1),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )

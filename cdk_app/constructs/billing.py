"""Billing: the environment's Stripe keys (a secret operators fill in) and the settings the
billing functions read. Stripe is the source of truth for subscribed tenants' tiers."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.function import RuntimeFunction
from outpost.data.secrets import stripe_secret_name


class Billing(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        encryption_key: kms.IKey,
        reconciler_environment: Mapping[str, str],
    ) -> None:
        """``reconciler_environment``: the tables the reconciler reads and writes (the stack
        grants them)."""
        super().__init__(scope, construct_id)
        self._settings = settings.billing
        # Created with placeholders: the operator puts the real keys in (README, "Billing").
        self.stripe_keys = secretsmanager.Secret(
            self,
            "StripeKeys",
            secret_name=stripe_secret_name(settings.name),
            description=f"Outpost {settings.name}: Stripe secret key and webhook signing secret",
            encryption_key=encryption_key,
            removal_policy=settings.cdk_removal_policy,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"secret_key": "sk_test_replace_me"}),
                generate_string_key="webhook_secret",
                exclude_punctuation=True,
            ),
        )
        Validations.of(self.stripe_keys).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Stripe keys are rolled in Stripe's dashboard, which no rotation Lambda "
                "can do; the runbook says how to roll them and update this secret.",
            )
        )

        self.reconciler = RuntimeFunction(
            self,
            "Reconciler",
            settings=settings,
            handler="outpost.handlers.reconciler.handler",
            description="reconciles usage with the audit trail and stores monthly totals",
            environment=dict(reconciler_environment),
            timeout=Duration.minutes(5),
        )
        events.Rule(
            self,
            "ReconcileDaily",
            description="Outpost: reconcile usage with the audit trail",
            schedule=events.Schedule.cron(minute="15", hour="3"),
            targets=[targets.LambdaFunction(self.reconciler.function, retry_attempts=2)],
        )

    def environment(self) -> dict[str, str]:
        billing = self._settings
        return {
            "OUTPOST_STRIPE_SECRET": self.stripe_keys.secret_name,
            "OUTPOST_STRIPE_PRICE_PRO": billing.pro_price,
            "OUTPOST_STRIPE_PRICE_ENTERPRISE": billing.enterprise_price,
            "OUTPOST_BILLING_SUCCESS_URL": billing.success_url,
            "OUTPOST_BILLING_CANCEL_URL": billing.cancel_url,
            "OUTPOST_BILLING_RETURN_URL": billing.portal_return_url,
        }

    def grant_stripe_keys(self, role: iam.IRole) -> None:
        self.stripe_keys.grant_read(role)

"""What every other construct stands on: the stack's customer-managed key and the alarm topic."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk_app.config import EnvironmentSettings


class Platform(Construct):
    """``key`` encrypts every table, queue, topic and secret of the environment;
    ``alarm_topic`` receives every operational alarm (its subscriber comes from config);
    ``access_logs`` receives the server access logs of every other bucket."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/outpost-{settings.name}",
            description=f"Outpost {settings.name}: encrypts tables, queues, topics and secrets",
            enable_key_rotation=True,
            removal_policy=settings.cdk_removal_policy,
        )
        # CloudWatch publishes alarms to the encrypted topic, so it must be able to use the key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"Outpost {settings.name} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Server access logs of the stack's buckets. S3 delivers them itself, and only to a
        # bucket with S3-managed encryption, so this one cannot use the customer-managed key.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=settings.cdk_removal_policy,
        )
        Validations.of(self.access_logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the access-log bucket itself; logging it into itself would loop.",
            )
        )
        if settings.alarms.email:
            self.alarm_topic.add_subscription(
                subscriptions.EmailSubscription(settings.alarms.email)
            )

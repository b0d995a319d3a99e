"""AuditTrail: the append-only audit table, the SQS buffer in front of it, and the S3 archive.

Writers send entries to the buffer (or put them directly when it is unreachable); a consumer
puts them into the table; the table's stream feeds an archiver that copies every entry to a
versioned, object-locked bucket where deletes are denied. No role gets UpdateItem, DeleteItem
or BatchWriteItem on the table.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.buckets import private_bucket
from cdk_app.constructs.function import RuntimeFunction
from cdk_app.constructs.grants import grant_item_actions, grant_key
from cdk_app.constructs.queues import encrypted_queue
from cdk_app.constructs.tables import spec_table
from outpost.data.buckets import AUDIT_ARCHIVE
from outpost.data.queues import AUDIT_BUFFER
from outpost.data.tables import AUDIT

CONSUMER_TIMEOUT = Duration.seconds(30)


class AuditTrail(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        encryption_key: kms.IKey,
        alarm_topic: sns.ITopic,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = encryption_key
        self._retention_days = settings.audit_retention_days
        self.table = spec_table(
            self, "Table", spec=AUDIT, settings=settings, encryption_key=encryption_key
        )
        self.dead_letters = encrypted_queue(
            self,
            "BufferDeadLetters",
            queue_name=AUDIT_BUFFER.dead_letter_queue_name(settings.name),
            key=encryption_key,
        )
        self.buffer = encrypted_queue(
            self,
            "Buffer",
            queue_name=AUDIT_BUFFER.queue_name(settings.name),
            key=encryption_key,
            # AWS's advice for Lambda consumers: at least six times the function's timeout.
            visibility_timeout=Duration.seconds(CONSUMER_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=AUDIT_BUFFER.max_receive_count, queue=self.dead_letters
            ),
        )

        self.consumer = RuntimeFunction(
            self,
            "Consumer",
            settings=settings,
            handler="outpost.handlers.audit_consumer.handler",
            description="writes buffered audit entries to the audit table",
            environment=self.environment(),
            timeout=CONSUMER_TIMEOUT,
        )
        self.consumer.function.add_event_source(
            event_sources.SqsEventSource(
                self.buffer, batch_size=10, report_batch_item_failures=True
            )
        )
        grant_item_actions(self.consumer.role, ["dynamodb:PutItem"], self.table)
        grant_key(self.consumer.role, encryption_key, write=True)

        self.archive = private_bucket(
            self,
            "Archive",
            settings=settings,
            encryption_key=encryption_key,
            access_logs=access_logs,
            access_log_prefix="audit-archive/",
            versioned=True,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.governance(
                Duration.days(settings.audit_archive_lock_days)
            ),
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(90),
                        )
                    ]
                )
            ],
            # The archive outlives the stack in every environment: it is the long-term record.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.archive.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyDeletingAuditRecords",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=[
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                    "s3:PutLifecycleConfiguration",
                ],
                resources=[self.archive.bucket_arn, self.archive.arn_for_objects("*")],
            )
        )

        self.archiver = RuntimeFunction(
            self,
            "Archiver",
            settings=settings,
            handler="outpost.handlers.audit_archiver.handler",
            description="copies new audit entries to the archive bucket",
            environment={AUDIT_ARCHIVE.env_var: self.archive.bucket_name},
        )
        self.archiver.function.add_event_source(
            event_sources.DynamoEventSource(
                self.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                retry_attempts=10,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                on_failure=event_sources.SqsDlq(self.dead_letters),
            )
        )
        self.archiver.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.archive.arn_for_objects("audit/*")]
            )
        )
        grant_key(self.archiver.role, encryption_key, write=True)
        Validations.of(self.archiver.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::<AuditTrailArchive759924AF.Arn>/audit/*]",
                reason="PutObject under the audit/ prefix only: each entry is its own object, "
                "so the prefix is the narrowest resource there is.",
            ),
            *(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Action::{action}]",
                    reason="Granted by CDK's SqsDlq failure destination (grantSendMessages on "
                    "the encrypted dead-letter queue); the resource is this environment's key.",
                )
                for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="dynamodb:ListStreams, granted by DynamoEventSource, has no "
                "resource-level permissions; it reveals stream ARNs and nothing else.",
            ),
        )

        dead_letter_alarm = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_description="Audit entries could not be stored or archived (dead-letter queue)",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1)
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dead_letter_alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))

    def environment(self) -> dict[str, str]:
        """What a function that writes or reads the trail needs to know of it."""
        return {
            AUDIT.env_var: self.table.table_name,
            AUDIT_BUFFER.env_var: self.buffer.queue_url,
            "OUTPOST_AUDIT_RETENTION_DAYS": str(self._retention_days),
        }

    def grant_record(self, grantee: iam.IGrantable) -> None:
        """Send entries to the buffer, or put them directly: never update or delete."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.buffer.queue_arn])
        )
        grant_item_actions(grantee, ["dynamodb:PutItem"], self.table)
        grant_key(grantee, self._key, write=True)

    def grant_read(self, grantee: iam.IGrantable) -> None:
        grant_item_actions(grantee, ["dynamodb:Query"], self.table)
        grant_key(grantee, self._key, write=False)

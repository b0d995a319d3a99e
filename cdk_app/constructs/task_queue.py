"""TaskQueue: one queue per tier, a shared dead-letter queue, their alarms and metrics.

Names, env vars and the receive limit come from the runtime's queue specs; the timings from
the environment's settings.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.function import RuntimeFunction
from cdk_app.constructs.grants import grant_key
from cdk_app.constructs.queues import encrypted_queue
from outpost.data.queues import TASK_QUEUES
from outpost.handlers.sweeper import LEASE_GRACE_ENV
from outpost.models.tier import Tier

CONSUME = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    # Waiting for a concurrency slot re-sends the message with a delay (never counts as a try).
    "sqs:SendMessage",
]


class TaskQueue(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        encryption_key: kms.IKey,
        alarm_topic: sns.ITopic,
        environment: Mapping[str, str],
    ) -> None:
        """``environment``: the tables and audit trail the queue's own functions (sweeper,
        dead-letter handler) use; the stack grants them access."""
        super().__init__(scope, construct_id)
        self._key = encryption_key
        timings = settings.queues
        # The tier queues share one dead-letter queue: every spec names the same one.
        (dead_letter_name,) = {
            s.dead_letter_queue_name(settings.name) for s in TASK_QUEUES.values()
        }
        self.dead_letters = encrypted_queue(
            self, "DeadLetters", queue_name=dead_letter_name, key=encryption_key
        )
        self.queues: dict[Tier, sqs.Queue] = {
            tier: encrypted_queue(
                self,
                f"{tier.value.title()}Queue",
                queue_name=spec.queue_name(settings.name),
                key=encryption_key,
                retention=Duration.days(timings.retention_days),
                visibility_timeout=Duration.seconds(timings.visibility_timeout_seconds),
                dead_letter_queue=sqs.DeadLetterQueue(
                    max_receive_count=spec.max_receive_count, queue=self.dead_letters
                ),
            )
            for tier, spec in TASK_QUEUES.items()
        }

        alarm_action = cloudwatch_actions.SnsAction(alarm_topic)
        dead_letter_alarm = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_description=f"Runs failed every attempt and wait in {dead_letter_name}",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1)
            ),
            threshold=settings.alarms.dlq_depth,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dead_letter_alarm.add_alarm_action(alarm_action)
        for tier, queue in self.queues.items():
            age_alarm = cloudwatch.Alarm(
                self,
                f"{tier.value.title()}OldestMessageAlarm",
                alarm_description=f"{tier.value} tasks are waiting too long to start",
                metric=queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(1)),
                threshold=settings.alarms.oldest_message_age_seconds,
                evaluation_periods=3,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            age_alarm.add_alarm_action(alarm_action)

        self.sweeper = RuntimeFunction(
            self,
            "Sweeper",
            settings=settings,
            handler="outpost.handlers.sweeper.handler",
            description="re-sends the queue message of runs a crash left without one, and "
            "queues again runs whose worker died",
            environment={
                **environment,
                **self.environment(),
                # By then SQS would have delivered a lost worker's message again.
                LEASE_GRACE_ENV: str(timings.visibility_timeout_seconds),
            },
        )
        events.Rule(
            self,
            "SweepEveryMinute",
            description="Outpost: re-send runs left without a queue message",
            schedule=events.Schedule.rate(Duration.minutes(1)),
            targets=[targets.LambdaFunction(self.sweeper.function, retry_attempts=0)],
        )
        self.grant_send(self.sweeper.role)

        self.dead_letter_handler = RuntimeFunction(
            self,
            "DeadLetterHandler",
            settings=settings,
            handler="outpost.handlers.dead_letters.handler",
            description="ends failed the runs whose every attempt failed",
            environment=dict(environment),
        )
        self.dead_letter_handler.function.add_event_source(
            event_sources.SqsEventSource(
                self.dead_letters, batch_size=10, report_batch_item_failures=True
            )
        )

    def environment(self) -> dict[str, str]:
        """The tier queues' URLs, as the runtime's settings read them."""
        return {TASK_QUEUES[tier].env_var: queue.queue_url for tier, queue in self.queues.items()}

    def backlog(self, period: Duration | None = None) -> cloudwatch.MathExpression:
        """Runs waiting in, or being worked from, all tier queues together (per minute unless
        told): the work outstanding, which the worker pool scales on. Counting runs in flight
        keeps a busy pool from shrinking just because its queue was drained into it; runs
        delayed while their tenant waits for a slot are not counted (more workers would not
        start them sooner)."""
        period = period or Duration.minutes(1)
        metrics: dict[str, cloudwatch.IMetric] = {}
        for index, queue in enumerate(self.queues.values()):
            metrics[f"waiting{index}"] = queue.metric_approximate_number_of_messages_visible(
                period=period, statistic="Maximum"
            )
            metrics[f"running{index}"] = queue.metric_approximate_number_of_messages_not_visible(
                period=period, statistic="Maximum"
            )
        return cloudwatch.MathExpression(
            expression=" + ".join(metrics), using_metrics=metrics, period=period, label="backlog"
        )

    def grant_send(self, grantee: iam.IGrantable) -> None:
        """Submission: put runs on the tier queues, and read their depth (the wait estimate)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage", "sqs:GetQueueAttributes"],
                resources=[q.queue_arn for q in self.queues.values()],
            )
        )
        grant_key(grantee, self._key, write=True)

    def grant_consume(self, grantee: iam.IGrantable) -> None:
        """Workers: receive, extend, delete and re-send runs on the tier queues."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=CONSUME, resources=[q.queue_arn for q in self.queues.values()]
            )
        )
        grant_key(grantee, self._key, write=True)

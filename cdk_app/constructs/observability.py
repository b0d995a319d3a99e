"""Observability: the environment's dashboard and the alarms that span constructs.

Alarms about one resource live with it (the task queues' dead letters and oldest message, the
audit trail's dead letters); this construct holds what looks across: the API's 5xx rate, the
authorizer's p99 latency, the workers' failed runs and errors, and one dashboard of the
whole system. Every alarm goes to the alarm topic the Platform created.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.auth_api import AuthApi
from cdk_app.constructs.task_queue import TaskQueue
from cdk_app.constructs.worker_pool import WorkerPool
from outpost import metrics

FIVE_MINUTES = Duration.minutes(5)
WORKER_ERRORS = "WorkerErrors"


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        alarm_topic: sns.ITopic,
        api: AuthApi,
        task_queue: TaskQueue,
        workers: WorkerPool,
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = settings.name
        thresholds = settings.alarms
        action = cloudwatch_actions.SnsAction(alarm_topic)
        rest_api = api.rest_api

        requests = rest_api.metric_count(period=FIVE_MINUTES, statistic="Sum")
        server_errors = rest_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum")
        error_rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": server_errors},
            period=FIVE_MINUTES,
            label="5xx %",
        )
        authorizer_p99 = api.authorizer.function.metric_duration(
            period=FIVE_MINUTES, statistic="p99"
        )
        runs_failed = self._business(metrics.RUNS_FAILED, "Sum")
        worker_errors = logs.MetricFilter(
            self,
            "WorkerErrorLines",
            log_group=workers.log_group,
            metric_namespace=metrics.NAMESPACE,
            metric_name=WORKER_ERRORS,
            filter_pattern=logs.FilterPattern.string_value("$.level", "=", "ERROR"),
            metric_value="1",
            default_value=0,
        ).metric(period=FIVE_MINUTES, statistic="Sum")

        self.alarms = [
            self._alarm(
                "Api5xxAlarm",
                "API: more than the allowed share of requests failed with 5xx",
                error_rate,
                thresholds.api_5xx_percent,
                evaluation_periods=2,
            ),
            self._alarm(
                "AuthorizerLatencyAlarm",
                f"Authorizer: p99 latency above {thresholds.authorizer_p99_ms} ms",
                authorizer_p99,
                thresholds.authorizer_p99_ms,
                evaluation_periods=3,
            ),
            self._alarm(
                "RunFailuresAlarm",
                f"Workers: more than {thresholds.run_failures} runs failed in 15 minutes",
                runs_failed.with_(period=Duration.minutes(15)),
                thresholds.run_failures,
                evaluation_periods=1,
            ),
            self._alarm(
                "WorkerErrorsAlarm",
                "Workers: error lines in the worker log (internal errors, misconfiguration)",
                worker_errors,
                thresholds.worker_error_lines,
                evaluation_periods=1,
            ),
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(action)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"outpost-{settings.name}"
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[
                    requests,
                    rest_api.metric_client_error(period=FIVE_MINUTES, statistic="Sum"),
                    server_errors,
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[
                    rest_api.metric_latency(period=FIVE_MINUTES, statistic="p50"),
                    rest_api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Authorizer duration p99 (ms) and denials by reason",
                left=[authorizer_p99],
                right=[self._search(metrics.AUTH_DENIED, "reason", "Sum")],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Runs waiting, per tier queue, and dead letters",
                left=[
                    queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1))
                    for queue in task_queue.queues.values()
                ],
                right=[task_queue.dead_letters.metric_approximate_number_of_messages_visible()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Backlog (waiting + running) and workers",
                left=[task_queue.backlog()],
                right=[
                    cloudwatch.Metric(
                        namespace="ECS/ContainerInsights",
                        metric_name="RunningTaskCount",
                        dimensions_map={
                            "ClusterName": workers.cluster.cluster_name,
                            "ServiceName": workers.service.service_name,
                        },
                        period=Duration.minutes(1),
                        statistic="Average",
                    )
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Queue wait (s): p50, p99",
                left=[
                    self._business(metrics.QUEUE_WAIT_SECONDS, "p50"),
                    self._business(metrics.QUEUE_WAIT_SECONDS, "p99"),
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Tasks submitted; runs completed and failed",
                left=[
                    self._business(metrics.TASKS_SUBMITTED, "Sum"),
                    self._business(metrics.RUNS_COMPLETED, "Sum"),
                    runs_failed,
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Run duration by executor (s, p50)",
                left=[self._search(metrics.RUN_SECONDS, "executor", "p50")],
                width=8,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=8),
        )

    def _business(self, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=metrics.NAMESPACE,
            metric_name=name,
            dimensions_map={"environment": self._environment},
            period=FIVE_MINUTES,
            statistic=statistic,
        )

    def _search(self, name: str, dimension: str, statistic: str) -> cloudwatch.MathExpression:
        """Every series of a metric split by one dimension (executors, denial reasons)."""
        return cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{{{metrics.NAMESPACE},environment,{dimension}}} "
                f'MetricName="{name}" environment="{self._environment}"\', '
                f"'{statistic}', 300)"
            ),
            using_metrics={},
            label=name,
        )

    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        *,
        evaluation_periods: int,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

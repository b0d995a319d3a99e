"""Business metrics, as CloudWatch embedded metric format (one log line each, no API call):
the names here are the ones the Observability construct's dashboard and alarms read.

Every metric carries the deployment (``environment``) as a dimension; a few carry one more
(the executor, the denial reason), emitted separately so the plain series stays alarmable.
Local mode turns them off (POWERTOOLS_METRICS_DISABLED), so its console stays readable.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Outpost"
TASKS_SUBMITTED = "TasksSubmitted"
AUTH_DENIED = "AuthDenied"
QUEUE_WAIT_SECONDS = "QueueWaitSeconds"
RUN_SECONDS = "RunSeconds"
RUNS_COMPLETED = "RunsCompleted"
RUNS_FAILED = "RunsFailed"


def emit(name: str, value: float, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return
    deployment = os.environ.get("OUTPOST_ENVIRONMENT", "unknown")
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"environment": deployment},
    ) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)

"""Create what the stack declares — the same tables and queues, from the same specs — and
tell the handlers where they are, through the environment variables the constructs set."""

from __future__ import annotations

import json
import os
import secrets

import boto3

from outpost.data.buckets import ALL_BUCKETS
from outpost.data.queues import ALL_QUEUES, QueueTimings, provision_queue
from outpost.data.secrets import stripe_secret_name
from outpost.data.tables import ALL_TABLES, provision_table
from outpost.handlers.sweeper import GRACE_ENV, LEASE_GRACE_ENV

LOCAL_ENVIRONMENT = "local"
# Short timings, so that retries and dead-lettering happen in seconds.
LOCAL_QUEUE_TIMINGS = QueueTimings(visibility_timeout_seconds=10, retention_seconds=86_400)
LOCAL_SWEEP_GRACE_SECONDS = 5
# As long as a message stays invisible: by then SQS would have delivered it again.
LOCAL_LEASE_GRACE_SECONDS = LOCAL_QUEUE_TIMINGS.visibility_timeout_seconds


def provision(stripe_api_base: str | None = None) -> dict[str, str]:
    """Provision everything; the environment variables naming it (also set in os.environ).
    With ``stripe_api_base`` (a Stripe stand-in), billing is on, with fresh test keys."""
    dynamodb = boto3.client("dynamodb")
    sqs = boto3.client("sqs")
    variables = {
        "OUTPOST_ENVIRONMENT": LOCAL_ENVIRONMENT,
        GRACE_ENV: str(LOCAL_SWEEP_GRACE_SECONDS),
        # Embedded-metric lines would drown the console; CloudWatch is not here to read them.
        "POWERTOOLS_METRICS_DISABLED": "true",
        LEASE_GRACE_ENV: str(LOCAL_LEASE_GRACE_SECONDS),
    }
    for table in ALL_TABLES:
        name = table.table_name(LOCAL_ENVIRONMENT)
        provision_table(dynamodb, table, name)
        variables[table.env_var] = name
    s3 = boto3.client("s3")
    for bucket in ALL_BUCKETS:
        name = bucket.local_name(LOCAL_ENVIRONMENT)
        s3.create_bucket(Bucket=name)
        variables[bucket.env_var] = name
    for queue in ALL_QUEUES:
        variables[queue.env_var] = provision_queue(
            sqs, queue, LOCAL_ENVIRONMENT, LOCAL_QUEUE_TIMINGS
        )
    if stripe_api_base is not None:
        name = stripe_secret_name(LOCAL_ENVIRONMENT)
        keys = {"secret_key": "sk_test_local", "webhook_secret": f"whsec_{secrets.token_hex(16)}"}
        boto3.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(keys))
        variables["OUTPOST_STRIPE_SECRET"] = name
        variables["OUTPOST_STRIPE_API_BASE"] = stripe_api_base
    os.environ.update(variables)
    return variables

"""Local mode: moto, the provisioned resources, the admin key, the pollers and the gateway."""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import boto3

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.queues import AUDIT_BUFFER, TASK_QUEUES
from outpost.data.tables import AUDIT
from outpost.data.tenants import TenantRepository
from outpost.handlers import (
    audit_archiver,
    audit_consumer,
    dead_letters,
    reconciler,
    sweeper,
    tenants,
)
from outpost.handlers.authorizer import AuthorizerSettings, build_authenticator
from outpost.local.aws import in_memory_aws
from outpost.local.gateway import Gateway, LocalAuthorizer
from outpost.local.pollers import Poller, SqsPoller, StreamPoller, TimerPoller
from outpost.local.provision import provision
from outpost.local.stripe_standin import StripeStandIn
from outpost.local.workers import WorkerProcesses
from outpost.models.tier import Tier
from outpost.services.bootstrap import check_admin_key, ensure_admin_key
from outpost.services.rate_limits import TokenBuckets

# As API Gateway's authorizer cache in the cloud (the AuthApi's default).
AUTHORIZER_CACHE_SECONDS = 300
# The sweeper runs every minute in the cloud; here, sooner, so a lost send shows in seconds.
SWEEP_INTERVAL_SECONDS = 5
# Daily in the cloud; each minute here, so a mismatch shows while you watch.
RECONCILE_INTERVAL_SECONDS = 60


def git_base_url() -> str:
    return os.environ.get("OUTPOST_GIT_BASE_URL", "https://github.com")


@contextmanager
def workspace_root() -> Iterator[Path]:
    """Where the workers clone: OUTPOST_WORKSPACE_ROOT, or a temporary folder removed at the end."""
    configured = os.environ.get("OUTPOST_WORKSPACE_ROOT")
    if configured:
        yield Path(configured)
        return
    with tempfile.TemporaryDirectory(prefix="outpost-workspaces-") as folder:
        yield Path(folder)


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(
    host: str, port: int, admin_key: str | None, workers: int, echo: Callable[[str], None]
) -> None:
    """Serve until Ctrl-C or SIGTERM; all state lives in memory and ends with the process."""
    check_admin_key(admin_key)
    stripe = StripeStandIn().start()
    with in_memory_aws() as aws_endpoint, workspace_root() as workspaces:
        variables = provision(stripe_api_base=stripe.url)
        sqs = boto3.client("sqs")
        dead_letters_url = sqs.get_queue_url(
            QueueName=TASK_QUEUES[Tier.FREE].dead_letter_queue_name(
                variables["OUTPOST_ENVIRONMENT"]
            )
        )["QueueUrl"]
        dynamodb = boto3.client("dynamodb")
        settings = AuthorizerSettings.from_environ()
        local_authorizer = LocalAuthorizer(
            authenticator=build_authenticator(settings, dynamodb),
            audit=settings.audit_service(dynamodb, boto3.client("sqs")),
            cache_seconds=AUTHORIZER_CACHE_SECONDS,
            rate_limits=TokenBuckets(),
        )
        tenants.flush_authorizer_cache = local_authorizer.flush
        tenants.rate_plans = local_authorizer.rate_limits
        admin = ensure_admin_key(
            TenantRepository(dynamodb, settings.tenants_table),
            ApiKeyRepository(dynamodb, settings.api_keys_table),
            admin_key,
        )
        pollers: list[Poller] = [
            SqsPoller("audit", variables[AUDIT_BUFFER.env_var], audit_consumer.handler),
            StreamPoller("audit-archive", variables[AUDIT.env_var], audit_archiver.handler),
            TimerPoller("sweeper", sweeper.handler, SWEEP_INTERVAL_SECONDS),
            SqsPoller("dead-letters", dead_letters_url, dead_letters.handler),
            TimerPoller("reconciler", reconciler.handler, RECONCILE_INTERVAL_SECONDS),
        ]
        worker_processes = WorkerProcesses(
            workers, {**os.environ, "OUTPOST_WORKSPACE_ROOT": str(workspaces)}
        )
        gateway = Gateway(host, port, local_authorizer)
        for poller in pollers:
            poller.start()
        worker_processes.start()
        shown = (
            admin.plaintext if admin_key is None else f"{admin.record.prefix}… (OUTPOST_ADMIN_KEY)"
        )
        echo(
            f"Outpost local mode\n  API:       {gateway.url}\n  admin key: {shown}\n"
            f"  AWS:       {aws_endpoint} (in memory; any credentials)\n"
            f"  workers:   {len(worker_processes.pids)} (git base: {git_base_url()})\n"
            f"  Stripe:    {stripe.url} (a local stand-in; webhook secret in "
            f"{variables['OUTPOST_STRIPE_SECRET']})"
        )
        echo("Ctrl-C stops it; everything is held in memory.")
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            gateway.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            echo("stopping")
        finally:
            gateway.server_close()
            worker_processes.stop()
            stripe.stop()
            for poller in pollers:
                poller.stop()
            for poller in pollers:
                poller.join(timeout=5)

"""Local mode: moto, the provisioned resources, the admin key, the pollers and the gateway."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

import boto3

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.queues import AUDIT_BUFFER
from outpost.data.tables import AUDIT
from outpost.data.tenants import TenantRepository
from outpost.handlers import audit_archiver, audit_consumer, sweeper, tenants
from outpost.handlers.authorizer import AuthorizerSettings, build_authenticator
from outpost.local.aws import in_memory_aws
from outpost.local.gateway import Gateway, LocalAuthorizer
from outpost.local.pollers import Poller, SqsPoller, StreamPoller, TimerPoller
from outpost.local.provision import provision
from outpost.services.bootstrap import check_admin_key, ensure_admin_key
from outpost.services.rate_limits import TokenBuckets

# As API Gateway's authorizer cache in the cloud (the AuthApi's default).
AUTHORIZER_CACHE_SECONDS = 300
# The sweeper runs every minute in the cloud; here, sooner, so a lost send shows in seconds.
SWEEP_INTERVAL_SECONDS = 5


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(host: str, port: int, admin_key: str | None, echo: Callable[[str], None]) -> None:
    """Serve until Ctrl-C or SIGTERM; all state lives in memory and ends with the process."""
    check_admin_key(admin_key)
    with in_memory_aws() as aws_endpoint:
        variables = provision()
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
        ]
        gateway = Gateway(host, port, local_authorizer)
        for poller in pollers:
            poller.start()
        shown = (
            admin.plaintext if admin_key is None else f"{admin.record.prefix}… (OUTPOST_ADMIN_KEY)"
        )
        echo(
            f"Outpost local mode\n  API:       {gateway.url}\n  admin key: {shown}\n"
            f"  AWS:       {aws_endpoint} (in memory; any credentials)"
        )
        echo("Ctrl-C stops it; everything is held in memory.")
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            gateway.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            echo("stopping")
        finally:
            gateway.server_close()
            for poller in pollers:
                poller.stop()
            for poller in pollers:
                poller.join(timeout=5)

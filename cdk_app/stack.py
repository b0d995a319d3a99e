"""OutpostStack: the wiring diagram of one environment. Resources live in the constructs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from cdk_app.config import EnvironmentSettings
from cdk_app.constructs.audit_trail import AuditTrail
from cdk_app.constructs.auth_api import AuthApi
from cdk_app.constructs.billing import Billing
from cdk_app.constructs.observability import Observability
from cdk_app.constructs.platform import Platform
from cdk_app.constructs.task_queue import TaskQueue
from cdk_app.constructs.tenant_store import TenantStore
from cdk_app.constructs.worker_pool import WorkerPool
from outpost.api.routes import RouteGroup
from outpost.data.buckets import RUNS
from outpost.data.tables import API_KEYS, IDEMPOTENCY, TASKS, TENANTS, USAGE


class OutpostStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Outpost v2 ({settings.name}): multi-tenant AI coding agent platform",
            **kwargs,
        )
        self.settings = settings
        self.platform = Platform(self, "Platform", settings=settings)
        self.tenant_store = TenantStore(
            self, "TenantStore", settings=settings, encryption_key=self.platform.key
        )
        self.audit_trail = AuditTrail(
            self,
            "AuditTrail",
            settings=settings,
            encryption_key=self.platform.key,
            alarm_topic=self.platform.alarm_topic,
            access_logs=self.platform.access_logs,
        )
        self.task_queue = TaskQueue(
            self,
            "TaskQueue",
            settings=settings,
            encryption_key=self.platform.key,
            alarm_topic=self.platform.alarm_topic,
            environment={
                **self.tenant_store.table_environment(TASKS, TENANTS, USAGE),
                **self.audit_trail.environment(),
            },
        )
        self.tenant_store.grant_task_writes(self.task_queue.sweeper.role)
        self.tenant_store.grant_tenant_lookup(self.task_queue.sweeper.role)
        self.tenant_store.grant_task_writes(self.task_queue.dead_letter_handler.role)
        self.audit_trail.grant_record(self.task_queue.dead_letter_handler.role)
        self.workers = WorkerPool(
            self,
            "Workers",
            settings=settings,
            encryption_key=self.platform.key,
            access_logs=self.platform.access_logs,
            backlog=self.task_queue.backlog(),
            environment={
                **self.tenant_store.table_environment(TASKS, TENANTS, USAGE),
                **self.tenant_store.secrets_environment(),
                **self.task_queue.environment(),
                **self.audit_trail.environment(),
            },
        )
        worker_role = self.workers.task_role
        self.tenant_store.grant_task_writes(worker_role)
        self.tenant_store.grant_tenant_lookup(worker_role)
        self.tenant_store.grant_secrets_read(worker_role)
        self.task_queue.grant_consume(worker_role)
        self.audit_trail.grant_record(worker_role)
        self.billing = Billing(
            self,
            "Billing",
            settings=settings,
            encryption_key=self.platform.key,
            reconciler_environment={
                **self.tenant_store.table_environment(TENANTS, USAGE),
                **self.audit_trail.environment(),
            },
        )
        self.tenant_store.grant_usage_reconciliation(self.billing.reconciler.role)
        self.audit_trail.grant_read(self.billing.reconciler.role)
        self.audit_trail.grant_record(self.billing.reconciler.role)
        self.api = AuthApi(
            self,
            "Api",
            settings=settings,
            environment={
                **self.tenant_store.table_environment(TENANTS, API_KEYS, TASKS, USAGE, IDEMPOTENCY),
                **self.task_queue.environment(),
                **self.audit_trail.environment(),
                **self.tenant_store.secrets_environment(),
                RUNS.env_var: self.workers.artifacts.bucket_name,
                **self.billing.environment(),
            },
        )
        self.tenant_store.grant_tenant_lookup(self.api.handler(RouteGroup.HEALTH).role)
        self.tenant_store.grant_key_authentication(self.api.authorizer.role)
        self.audit_trail.grant_record(self.api.authorizer.role)
        self.tenant_store.grant_tenant_admin(self.api.handler(RouteGroup.TENANTS).role)
        self.audit_trail.grant_record(self.api.handler(RouteGroup.TENANTS).role)
        self.audit_trail.grant_read(self.api.handler(RouteGroup.AUDIT).role)
        tasks_role = self.api.handler(RouteGroup.TASKS).role
        self.tenant_store.grant_task_writes(tasks_role)
        self.tenant_store.grant_idempotency(tasks_role)
        self.task_queue.grant_send(tasks_role)
        self.audit_trail.grant_record(tasks_role)
        self.workers.grant_artifact_links(tasks_role)
        tenants_role = self.api.handler(RouteGroup.TENANTS).role
        billing_role = self.api.handler(RouteGroup.BILLING).role
        self.billing.grant_stripe_keys(tenants_role)
        self.billing.grant_stripe_keys(billing_role)
        self.tenant_store.grant_tenant_admin(billing_role)
        self.tenant_store.grant_idempotency(billing_role)
        self.audit_trail.grant_record(billing_role)
        secrets_role = self.api.handler(RouteGroup.SECRETS).role
        self.tenant_store.grant_secrets_write(secrets_role)
        self.audit_trail.grant_record(secrets_role)

        self.observability = Observability(
            self,
            "Observability",
            settings=settings,
            alarm_topic=self.platform.alarm_topic,
            api=self.api,
            task_queue=self.task_queue,
            workers=self.workers,
        )

        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        CfnOutput(self, "AlarmTopicArn", value=self.platform.alarm_topic.topic_arn)
        CfnOutput(self, "WorkerCluster", value=self.workers.cluster.cluster_name)

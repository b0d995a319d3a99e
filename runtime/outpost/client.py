"""The Outpost Python SDK: a typed client for every route of the API.

    from outpost.client import Outpost
    outpost = Outpost()                     # OUTPOST_API_KEY, OUTPOST_API_URL
    task = outpost.submit_task("octo/hello", "Add a README", executor="claude")
    done = outpost.wait(task.task_id)

Answers are the API's own response models (the ones docs/api/openapi.yaml is generated from).
Refusals raise ``ApiError`` with the API's error type, message and request id. Rate limits
(429 ``rate_limited``) and server errors (5xx, connection failures) are retried with
exponential backoff, honouring ``Retry-After``; a used-up daily quota is not retried (its
``Retry-After`` is hours away). Task submission always carries an ``Idempotency-Key`` (one
per call, reused by its retries), so a retried submission never makes a second task.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from outpost.api.schemas import (
    ApiKeyList,
    ApiKeyView,
    AuditPage,
    CreatedApiKey,
    SecretList,
    SessionLink,
    SubmittedTask,
    TaskPage,
    TaskView,
    TenantPage,
    UsageView,
)
from outpost.models.secret import SecretMetadata
from outpost.models.tenant import Tenant

ModelT = TypeVar("ModelT", bound=BaseModel)

DEFAULT_URL = "http://127.0.0.1:8080"
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT_SECONDS = 30.0


class ApiError(Exception):
    """A refusal from the API: its HTTP status, error type, message and request id."""

    def __init__(self, status: int, type_: str, message: str, request_id: str | None) -> None:
        super().__init__(f"{status} {type_}: {message} (request {request_id})")
        self.status = status
        self.type = type_
        self.message = message
        self.request_id = request_id


class ConfigurationError(Exception):
    """No API key was given or found in OUTPOST_API_KEY."""


class Outpost:
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        key = api_key or os.environ.get("OUTPOST_API_KEY")
        if not key:
            raise ConfigurationError("no API key: pass api_key= or set OUTPOST_API_KEY")
        self.base_url = (base_url or os.environ.get("OUTPOST_API_URL") or DEFAULT_URL).rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}", "User-Agent": "outpost-python/2"},
            timeout=timeout,
            transport=transport,
        )
        self._max_retries = max_retries
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Outpost:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- tasks -------------------------------------------------------------------------

    def submit_task(
        self,
        repo: str,
        task: str,
        *,
        executor: str = "claude",
        context: str = "standard",
        ref: str | None = None,
        idempotency_key: str | None = None,
    ) -> SubmittedTask:
        body: dict[str, Any] = {
            "repo": repo,
            "task": task,
            "executor": executor,
            "context": context,
        }
        if ref is not None:
            body["ref"] = ref
        key = idempotency_key or str(uuid.uuid4())
        return self._call(
            SubmittedTask, "POST", "/v1/tasks", json=body, headers={"Idempotency-Key": key}
        )

    def get_task(self, task_id: str) -> TaskView:
        return self._call(TaskView, "GET", f"/v1/tasks/{task_id}")

    def list_tasks(
        self, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> TaskPage:
        return self._call(
            TaskPage, "GET", "/v1/tasks", params=_params(status=status, limit=limit, cursor=cursor)
        )

    def cancel_task(self, task_id: str) -> TaskView:
        return self._call(TaskView, "POST", f"/v1/tasks/{task_id}/cancel")

    def wait(
        self,
        task_id: str,
        *,
        timeout: float = 3600.0,
        poll_seconds: float = 2.0,
        on_update: Callable[[TaskView], None] | None = None,
    ) -> TaskView:
        """Poll until the task ends (or ``timeout`` passes: TimeoutError); ``on_update`` sees
        every state read."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.get_task(task_id)
            if on_update is not None:
                on_update(task)
            if task.status in FINAL_STATUSES:
                return task
            if time.monotonic() >= deadline:
                raise TimeoutError(f"task {task_id} is still {task.status}")
            self._sleep(poll_seconds)

    def usage(self, period: str | None = None) -> UsageView:
        return self._call(UsageView, "GET", "/v1/usage", params=_params(period=period))

    # --- secrets -----------------------------------------------------------------------

    def set_secret(self, provider: str, value: str) -> SecretMetadata:
        return self._call(SecretMetadata, "PUT", f"/v1/secrets/{provider}", json={"value": value})

    def list_secrets(self) -> SecretList:
        return self._call(SecretList, "GET", "/v1/secrets")

    def delete_secret(self, provider: str) -> SecretMetadata:
        return self._call(SecretMetadata, "DELETE", f"/v1/secrets/{provider}")

    # --- tenants and keys (admins; a tenant may read itself and manage its keys) -------------

    def create_tenant(self, name: str, email: str, tier: str = "free") -> Tenant:
        return self._call(
            Tenant, "POST", "/v1/tenants", json={"name": name, "email": email, "tier": tier}
        )

    def list_tenants(self, *, limit: int = 50, cursor: str | None = None) -> TenantPage:
        return self._call(
            TenantPage, "GET", "/v1/tenants", params=_params(limit=limit, cursor=cursor)
        )

    def get_tenant(self, tenant_id: str) -> Tenant:
        return self._call(Tenant, "GET", f"/v1/tenants/{tenant_id}")

    def update_tenant(self, tenant_id: str, **changes: str) -> Tenant:
        return self._call(Tenant, "PATCH", f"/v1/tenants/{tenant_id}", json=changes)

    def delete_tenant(self, tenant_id: str) -> Tenant:
        return self._call(Tenant, "DELETE", f"/v1/tenants/{tenant_id}")

    def create_key(
        self,
        tenant_id: str,
        name: str,
        *,
        environment: str = "live",
        scopes: list[str] | None = None,
    ) -> CreatedApiKey:
        body: dict[str, Any] = {"name": name, "environment": environment}
        if scopes is not None:
            body["scopes"] = scopes
        return self._call(CreatedApiKey, "POST", f"/v1/tenants/{tenant_id}/api-keys", json=body)

    def list_keys(self, tenant_id: str) -> ApiKeyList:
        return self._call(ApiKeyList, "GET", f"/v1/tenants/{tenant_id}/api-keys")

    def revoke_key(self, tenant_id: str, key_id: str) -> ApiKeyView:
        return self._call(ApiKeyView, "DELETE", f"/v1/tenants/{tenant_id}/api-keys/{key_id}")

    # --- audit and billing ---------------------------------------------------------------

    def audit(
        self,
        *,
        tenant_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AuditPage:
        params = _params(tenant_id=tenant_id, since=since, until=until, limit=limit, cursor=cursor)
        return self._call(AuditPage, "GET", "/v1/audit", params=params)

    def checkout(self, plan: str) -> SessionLink:
        return self._call(SessionLink, "POST", "/v1/billing/checkout", json={"plan": plan})

    def portal(self) -> SessionLink:
        return self._call(SessionLink, "POST", "/v1/billing/portal")

    # --- transport -------------------------------------------------------------------------

    def _call(self, model: type[ModelT], method: str, path: str, **options: Any) -> ModelT:
        return model.model_validate(self._request(method, path, **options).json())

    def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **options)
            except httpx.TransportError:
                if attempt >= self._max_retries:
                    raise
                self._sleep(_backoff(attempt))
                attempt += 1
                continue
            if response.is_success:
                return response
            error = _error(response)
            if not _retryable(error) or attempt >= self._max_retries:
                raise error
            self._sleep(_retry_after(response) or _backoff(attempt))
            attempt += 1


def _params(**values: object) -> dict[str, str]:
    return {name: str(value) for name, value in values.items() if value is not None}


def _error(response: httpx.Response) -> ApiError:
    try:
        detail: Mapping[str, Any] = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        detail = {"type": "http_error", "message": response.text[:200] or response.reason_phrase}
    return ApiError(
        response.status_code,
        str(detail.get("type", "http_error")),
        str(detail.get("message", "")),
        detail.get("request_id"),
    )


def _retryable(error: ApiError) -> bool:
    """Throttling and server trouble pass; a used-up daily quota does not."""
    return error.status in RETRYABLE_STATUSES and error.type != "quota_exceeded"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), MAX_RETRY_WAIT_SECONDS)
    except (KeyError, ValueError):
        return None


def _backoff(attempt: int) -> float:
    jitter = 0.5 + random.random() / 2  # noqa: S311 - spreading retries, not a secret
    return float(min(0.5 * 2**attempt, MAX_RETRY_WAIT_SECONDS) * jitter)

"""Tenant and API key management.

Admins (the ``admin`` scope) manage every tenant. A tenant may read itself and manage its own
keys, but a key can only mint keys with scopes it holds itself, so no key can escalate.
Another tenant's id answers exactly as a missing one does. Every change is audited; revoking a
key or deleting a tenant also flushes the API's authorizer cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from outpost.data.api_keys import ApiKeyRepository
from outpost.data.pagination import InvalidCursor, Page
from outpost.data.tenants import TenantRepository
from outpost.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from outpost.models.api_key import TENANT_SCOPES, ApiKey, KeyName, Scope
from outpost.models.audit import AuditEntry, DetailValue
from outpost.models.common import Environment, utc_now
from outpost.models.tenant import Tenant, TenantName, TenantStatus
from outpost.models.tier import Tier
from outpost.services.audit import AuditService
from outpost.services.auth import Caller, require_scope
from outpost.services.rate_limits import RatePlans


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateTenant(Request):
    name: TenantName
    email: EmailStr
    tier: Tier = Tier.FREE


class TenantListQuery(Request):
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: str | None = None


class UpdateTenant(Request):
    name: TenantName | None = None
    email: EmailStr | None = None
    tier: Tier | None = None
    status: Annotated[TenantStatus, Field(description="active or suspended")] | None = None


class CreateKey(Request):
    name: KeyName
    environment: Environment = Environment.LIVE
    scopes: frozenset[Scope] = TENANT_SCOPES


class TenantService:
    def __init__(
        self,
        tenants: TenantRepository,
        keys: ApiKeyRepository,
        audit: AuditService,
        flush_authorizer_cache: Callable[[], None],
        rate_plans: RatePlans,
    ) -> None:
        self._tenants = tenants
        self._keys = keys
        self._audit = audit
        self._flush = flush_authorizer_cache
        self._rate_plans = rate_plans

    def create(self, caller: Caller, request: CreateTenant) -> Tenant:
        require_scope(caller, Scope.ADMIN)
        if any(
            t.status is not TenantStatus.DELETED for t in self._tenants.find_by_email(request.email)
        ):
            raise Conflict("a tenant with this email already exists")
        tenant = Tenant(name=request.name, email=request.email, tier=request.tier)
        self._tenants.create(tenant)
        self._rate_plans.enrol(tenant.tenant_id, tenant.tier)
        self._record(
            caller,
            tenant.tenant_id,
            "tenant.created",
            f"tenants/{tenant.tenant_id}",
            tier=tenant.tier.value,
        )
        return tenant

    def list_tenants(self, caller: Caller, query: TenantListQuery) -> Page[Tenant]:
        require_scope(caller, Scope.ADMIN)
        try:
            return self._tenants.page(query.limit, query.cursor)
        except InvalidCursor as error:
            raise InvalidRequest(str(error)) from error

    def get(self, caller: Caller, tenant_id: UUID) -> Tenant:
        return self._visible(caller, tenant_id)

    def update(self, caller: Caller, tenant_id: UUID, request: UpdateTenant) -> Tenant:
        require_scope(caller, Scope.ADMIN)
        tenant = self._visible(caller, tenant_id)
        if tenant.status is TenantStatus.DELETED:
            raise Conflict("a deleted tenant cannot be changed")
        if request.status is TenantStatus.DELETED:
            raise PermissionDenied("delete a tenant with DELETE, not PATCH")
        if request.tier is not None and request.tier is not tenant.tier and tenant.billed_by_stripe:
            raise Conflict(
                "this tenant's tier follows its Stripe subscription; change the subscription"
            )
        changes = request.model_dump(exclude_none=True)
        updated = tenant.model_copy(update={**changes, "updated_at": utc_now()})
        self.store_change(tenant, updated)
        self._record(
            caller,
            tenant_id,
            "tenant.updated",
            f"tenants/{tenant_id}",
            fields=",".join(sorted(changes)),
        )
        return updated

    def store_change(self, before: Tenant, after: Tenant) -> None:
        """Store a changed tenant with what a tier or status change must also move: its rate
        plan and the authorizer's cached policies (which carry both). Billing's tier changes
        come through here too."""
        self._tenants.replace(after)
        if after.tier is not before.tier:
            self._rate_plans.move(after.tenant_id, before.tier, after.tier)
        if after.status is not before.status or after.tier is not before.tier:
            self._flush()

    def delete(self, caller: Caller, tenant_id: UUID) -> Tenant:
        """Soft delete: the record stays for audit and billing; its keys stop authorizing."""
        require_scope(caller, Scope.ADMIN)
        tenant = self._visible(caller, tenant_id)
        if tenant.status is TenantStatus.DELETED:
            return tenant
        deleted = tenant.model_copy(
            update={"status": TenantStatus.DELETED, "updated_at": utc_now()}
        )
        self._tenants.replace(deleted)
        self._rate_plans.remove(tenant_id)
        self._flush()
        self._record(caller, tenant_id, "tenant.deleted", f"tenants/{tenant_id}")
        return deleted

    def create_key(self, caller: Caller, tenant_id: UUID, request: CreateKey) -> tuple[ApiKey, str]:
        tenant = self._visible(caller, tenant_id)
        if not tenant.is_active:
            raise Conflict(
                f"tenant is {tenant.status.value}; keys can only be made for active tenants"
            )
        if not caller.principal.has(Scope.ADMIN) and not request.scopes <= caller.principal.scopes:
            raise PermissionDenied("a key can only create keys with scopes it holds itself")
        key, plaintext = ApiKey.issue(
            tenant_id=tenant_id,
            name=request.name,
            environment=request.environment,
            scopes=request.scopes,
        )
        self._keys.create(key)
        self._record(
            caller,
            tenant_id,
            "api_key.created",
            f"api-keys/{key.key_id}",
            key_prefix=key.prefix,
            environment=key.environment.value,
        )
        return key, plaintext

    def list_keys(self, caller: Caller, tenant_id: UUID) -> list[ApiKey]:
        self._visible(caller, tenant_id)
        return self._keys.list_for_tenant(tenant_id)

    def revoke_key(self, caller: Caller, tenant_id: UUID, key_id: str) -> ApiKey:
        self._visible(caller, tenant_id)
        key = self._keys.revoke(tenant_id, key_id, utc_now())
        if key is None:
            raise NotFound("no such API key")
        self._flush()
        self._record(
            caller, tenant_id, "api_key.revoked", f"api-keys/{key_id}", key_prefix=key.prefix
        )
        return key

    def _visible(self, caller: Caller, tenant_id: UUID) -> Tenant:
        principal = caller.principal
        tenant = None
        if principal.has(Scope.ADMIN) or tenant_id == principal.tenant_id:
            tenant = self._tenants.get(tenant_id)
        if tenant is None:
            raise NotFound("no such tenant")
        return tenant

    def _record(
        self, caller: Caller, tenant_id: UUID, action: str, resource: str, **details: DetailValue
    ) -> None:
        self._audit.record(
            AuditEntry(
                tenant_id=tenant_id,
                action=action,
                resource=resource,
                request_id=caller.request_id,
                metadata=caller.metadata,
                details={"actor_tenant_id": str(caller.principal.tenant_id), **details},
            )
        )

"""Who is acting, for which tenant, with which permissions. Built once at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.core.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Scope:
    tenant_id: UUID
    permissions: frozenset[str]
    user_id: UUID | None = None
    role: str | None = None
    api_key_id: UUID | None = None
    session_id: UUID | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"This needs the '{permission}' permission.")

    @classmethod
    def system(cls, tenant_id: UUID) -> Scope:
        """A background job acting for a tenant: no member and no permissions, for the few
        functions that only need to know the tenant (recording a notification)."""
        return cls(tenant_id=tenant_id, permissions=frozenset(), role="system")

    @property
    def actor_label(self) -> str:
        return f"user:{self.user_id}" if self.user_id else f"api_key:{self.api_key_id}"

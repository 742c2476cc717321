"""Declared permissions on fields: `extensions=[requires("tenancy:write")]`."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from api.context import scope_of


class _Requires(BasePermission):
    def __init__(self, permission: str | None) -> None:
        self.permission = permission

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        # Raises Unauthenticated/Forbidden itself so that clients get our codes.
        scope_of(info, self.permission)
        return True


def requires(permission: str | None = None) -> FieldExtension:
    """Authentication, and the permission when one is named."""
    return PermissionExtension(permissions=[_Requires(permission)], use_directives=False)

"""Node resolution for mailbox types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from api.mailboxes.types import Mailbox, MailboxGrant
from api.relay import node_type
from domain.core.scope import Scope
from domain.mailboxes import grants, service


async def _mailboxes(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: Mailbox.of(v) for k, v in (await service.mailboxes_by_ids(scope, ids)).items()}


async def _grants(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: MailboxGrant.of(v) for k, v in (await grants.grants_by_ids(scope, ids)).items()}


def register() -> None:
    node_type("Mailbox", _mailboxes)
    node_type("MailboxGrant", _grants)

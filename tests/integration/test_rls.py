"""Row-level security on PostgreSQL: a forgotten tenant filter still cannot cross tenants.

The app connects as the non-owner role `talentgraph_app`; these tests query with no tenant
filter at all and rely on the policies alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tortoise import Tortoise

from domain.core import clock, db
from domain.core.security import digest, new_token
from domain.tenancy import service
from domain.tenancy.models import ApiKey, Invite, Membership, User


@pytest.fixture(autouse=True)
def postgres_only(backend: str) -> None:
    if backend != "postgres":
        pytest.skip("row-level security exists on PostgreSQL only")


async def _rows_of_both(world: Any, other_world: Any) -> None:
    """Give each tenant an invite and an API key next to its memberships."""
    for w in (world, other_world):
        scope = await w.scope()
        await service.invite_member(scope, email=f"rls-{w.tenant.slug}@example.com",
                                    role="viewer")
        await service.create_api_key(scope, name="rls", scopes=["prospects:read"])


async def _sql(query: str, *args: Any) -> list[dict[str, Any]]:
    conn = Tortoise.get_connection("default")
    return await conn.execute_query_dict(query, list(args) or None)  # type: ignore[no-any-return]


@pytest.mark.parametrize("model", [Membership, Invite, ApiKey])
async def test_unfiltered_reads_inside_tenant_tx_see_only_that_tenant(world, other_world, model):
    await _rows_of_both(world, other_world)
    a, b = world.tenant.id, other_world.tenant.id
    # Tenant B's rows do exist: B sees them in its own transaction.
    async with db.tenant_tx(await other_world.scope()):
        theirs = await model.all()
    assert theirs and {r.tenant_id for r in theirs} == {b}

    async with db.tenant_tx(await world.scope()):
        rows = await model.all()
        count = await model.all().count()
        by_id = await model.filter(id__in=[r.id for r in theirs])
    assert rows and {r.tenant_id for r in rows} == {a}
    assert count == len(rows)
    assert by_id == []
    expected = {Membership: 6, Invite: 1, ApiKey: 1}[model]
    assert len(rows) == expected


async def test_unfiltered_updates_and_deletes_cannot_touch_another_tenant(world, other_world):
    await _rows_of_both(world, other_world)
    async with db.tenant_tx(await world.scope()):
        updated = await ApiKey.all().update(name="renamed")
        deleted = await Invite.all().delete()
    assert updated == 1 and deleted == 1
    async with db.tenant_tx(await other_world.scope()):
        assert [k.name for k in await ApiKey.all()] == ["rls"]
        assert await Invite.all().count() == 1


async def test_inserting_a_membership_for_another_tenant_is_refused(world, other_world):
    async with db.identity_tx():
        user = await User.create(email=f"rls-user-{world.tenant.slug}@example.com", name="R")
    with pytest.raises(Exception, match="row-level security"):
        async with db.tenant_tx(await world.scope()):
            await Membership.create(tenant_id=other_world.tenant.id, user_id=user.id,
                                    role="admin")
    async with db.tenant_tx(await other_world.scope()):
        assert not await Membership.filter(user_id=user.id).exists()
    # The same insert for the transaction's own tenant is allowed (the control).
    async with db.tenant_tx(await world.scope()):
        await Membership.create(tenant_id=world.tenant.id, user_id=user.id, role="viewer")


async def test_inserting_an_invite_for_another_tenant_is_refused(world, other_world):
    email = f"rls-invite-{world.tenant.slug}@example.com"
    with pytest.raises(Exception, match="row-level security"):
        async with db.tenant_tx(await world.scope()):
            await Invite.create(tenant_id=other_world.tenant.id, email=email, role="admin",
                                token_hash=digest(new_token("tgi_")),
                                expires_at=clock.now() + timedelta(days=1))
    async with db.tenant_tx(await other_world.scope()):
        assert not await Invite.filter(email=email).exists()


async def test_moving_a_row_to_another_tenant_is_refused(world, other_world):
    with pytest.raises(Exception, match="row-level security"):
        async with db.tenant_tx(await world.scope()):
            await Membership.filter(id=world.members["viewer"].membership_id).update(
                tenant_id=other_world.tenant.id)
    async with db.tenant_tx(await world.scope()):
        row = await Membership.get(id=world.members["viewer"].membership_id)
    assert row.tenant_id == world.tenant.id


async def test_without_a_tenant_nothing_tenant_owned_is_visible(world):
    # A plain transaction that never set app.tenant_id: the policies see no tenant.
    from tortoise.transactions import in_transaction

    async with in_transaction():
        assert await Membership.all().count() == 0
        assert await ApiKey.all().count() == 0


async def test_the_app_runs_as_a_role_that_cannot_bypass_security():
    who = await _sql("SELECT current_user AS name")
    assert who == [{"name": "talentgraph_app"}]
    role = await _sql("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    assert role == [{"rolsuper": False, "rolbypassrls": False}]
    owned = await _sql("SELECT tablename FROM pg_tables WHERE tableowner = current_user")
    assert owned == []
    tables = await _sql("SELECT tablename, rowsecurity FROM pg_tables WHERE schemaname = 'public'")
    by_name = {t["tablename"]: t["rowsecurity"] for t in tables}
    for table in ("memberships", "invites", "api_keys", "outbox_events"):
        assert by_name[table] is True, table
    forced = await _sql("SELECT relname FROM pg_class WHERE relforcerowsecurity AND "
                        "relname = ANY($1::text[])",
                        ["memberships", "invites", "api_keys"])
    assert sorted(r["relname"] for r in forced) == ["api_keys", "invites", "memberships"]

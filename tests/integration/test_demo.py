"""The demo tenant: a newcomer's first queries return something worth looking at."""

from __future__ import annotations

from domain.core import db
from domain.demo import service as demo
from domain.prospects.models import Note, Project, ProjectProspect, Prospect, SavedSearch
from domain.tenancy import service as tenancy


async def test_recreate_builds_a_tenant_with_prospects_projects_and_saved_searches(queue):
    members = await demo.recreate()
    await queue.drain()
    assert {m.role for m in members} == {"admin", "recruiter", "sourcer", "coordinator",
                                        "hiring_manager", "viewer"}
    tenant = await tenancy.tenant_by_slug(demo.DEMO_SLUG)
    async with db.system_tenant_tx(str(tenant.id)):
        assert await Prospect.filter(tenant_id=tenant.id).count() == 300
        assert await Note.filter(tenant_id=tenant.id).count() > 50
        pools = await Project.filter(tenant_id=tenant.id).order_by("name")
        assert [p.visibility for p in pools] == ["members", "tenant", "private"]
        for pool in pools:
            assert await ProjectProspect.filter(tenant_id=tenant.id, project_id=pool.id).count() > 5
        assert await SavedSearch.filter(tenant_id=tenant.id).count() == 2

    # recreating replaces the tenant rather than adding to it
    await demo.recreate()
    await queue.drain()
    tenant = await tenancy.tenant_by_slug(demo.DEMO_SLUG)
    async with db.system_tenant_tx(str(tenant.id)):
        assert await Prospect.filter(tenant_id=tenant.id).count() == 300
        assert await Project.filter(tenant_id=tenant.id).count() == 3

"""The demo tenant a newcomer can query at once: a few members of each role."""

from __future__ import annotations

from dataclasses import dataclass

from domain.core import db
from domain.core.errors import NotFound
from domain.core.scope import Scope
from domain.demo import crm, pipeline
from domain.tenancy import service, sessions
from domain.tenancy.models import Membership, Tenant, User
from domain.tenancy.rules import ROLE_PERMISSIONS

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-password-123"
DEMO_MEMBERS = [
    ("ada@demo.talentgraph.dev", "Ada Admin", "admin"),
    ("rita@demo.talentgraph.dev", "Rita Recruiter", "recruiter"),
    ("rob@demo.talentgraph.dev", "Rob Recruiter", "recruiter"),
    ("sam@demo.talentgraph.dev", "Sam Sourcer", "sourcer"),
    ("cora@demo.talentgraph.dev", "Cora Coordinator", "coordinator"),
    ("hank@demo.talentgraph.dev", "Hank Hiring-Manager", "hiring_manager"),
    ("hana@demo.talentgraph.dev", "Hana Hiring-Manager", "hiring_manager"),
    ("vic@demo.talentgraph.dev", "Vic Viewer", "viewer"),
]


@dataclass(frozen=True)
class DemoMember:
    email: str
    role: str
    access_token: str


async def exists() -> bool:
    try:
        await service.tenant_by_slug(DEMO_SLUG)
        return True
    except NotFound:
        return False


async def recreate() -> list[DemoMember]:
    """Drop the demo tenant if present and build it again; returns a token per member."""
    try:
        await service.delete_tenant(tenant=await service.tenant_by_slug(DEMO_SLUG))
    except NotFound:
        pass
    tenant = await service.create_tenant(slug=DEMO_SLUG, name="Demo Company")
    memberships = [await service.ensure_member(tenant=tenant, email=email, name=name, role=role,
                                               password=DEMO_PASSWORD)
                   for email, name, role in DEMO_MEMBERS]
    tokens = [await token_for(tenant, email) for email, _, _ in DEMO_MEMBERS]
    # Content is written as the first recruiter, as if entered through the API.
    recruiter = await sessions.scope_from_access_token(tokens[1].access_token)
    owners = [m.user_id for m in memberships if m.role in ("recruiter", "sourcer")]
    await crm.seed(recruiter, owners)
    await pipeline.seed(recruiter, [(e, m) for (e, _, _), m in zip(DEMO_MEMBERS, memberships, strict=True)])
    return tokens


# Rita may send from Hank's mailbox (delegated); Rita's Gmail lists Hank as a send-as alias.
DEMO_DELEGATION = ("hank@demo.talentgraph.dev", "rita@demo.talentgraph.dev")


async def connect_mailboxes() -> int:
    """Connected emulator mailboxes for the demo members (only with a provider emulator)."""
    from domain.demo.mailboxes import connect_demo_mailboxes

    return len(await connect_demo_mailboxes(DEMO_MEMBERS, DEMO_SLUG, delegate=DEMO_DELEGATION))


async def _member(tenant: Tenant, email: str) -> tuple[User, Membership]:
    async with db.system_tenant_tx(str(tenant.id)):
        user = await User.get_or_none(email=email.lower())
        membership = user and await Membership.get_or_none(tenant_id=tenant.id, user_id=user.id)
    if not user or not membership:
        raise NotFound(f"{email} is not a member of {tenant.slug}.", field="email")
    return user, membership


async def token_for(tenant: Tenant, email: str) -> DemoMember:
    """A new session for the member (what the operator's `token` command prints)."""
    user, membership = await _member(tenant, email)
    async with db.system_tenant_tx(str(tenant.id)):
        issued = await sessions.issue_session(user, tenant, membership.role)
    return DemoMember(email=email, role=membership.role, access_token=issued.access_token)


async def member_scope(tenant: Tenant, email: str) -> Scope:
    """The member's scope, as the edge would build it, without issuing a session."""
    _, membership = await _member(tenant, email)
    return Scope(tenant_id=tenant.id, permissions=ROLE_PERMISSIONS[membership.role],
                 user_id=membership.user_id, role=membership.role)

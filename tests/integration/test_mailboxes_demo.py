"""The demo's mailboxes: connected through the real OAuth flow at the configured emulator,
reconnected in place on the next start, with a delegation grant."""

from __future__ import annotations

import pytest

from domain.core import db
from domain.core.config import settings
from domain.demo.mailboxes import connect_demo_mailboxes
from domain.mailboxes import sending
from domain.mailboxes.models import Mailbox, MailboxGrant
from domain.mailboxes.sending import SenderChoice
from tests.conftest import World
from tests.mailboxes_support import mail_fixture  # noqa: F401


async def test_demo_members_get_connected_mailboxes(mail, world: World):
    members = [(m.email, m.role, m.role) for m in world.members.values()]
    delegate = (world.members["hiring_manager"].email, world.members["recruiter"].email)
    connected = await connect_demo_mailboxes(members, world.tenant.slug, delegate=delegate)
    by_owner = {m.owner_id: m for m in connected}
    assert len(connected) == 5  # everyone but the viewer
    recruiter, hm = world.members["recruiter"], world.members["hiring_manager"]
    assert (by_owner[recruiter.user_id].provider, by_owner[recruiter.user_id].address) == (
        "google", recruiter.email)
    assert by_owner[hm.user_id].provider == "microsoft"
    # A fresh emulator forgets grants: connecting again reuses the rows.
    mail.reset()
    again = await connect_demo_mailboxes(members, world.tenant.slug, delegate=delegate)
    assert sorted(m.id for m in again) == sorted(m.id for m in connected)
    async with db.system_tenant_tx(str(world.tenant.id)):
        assert await Mailbox.filter(tenant_id=world.tenant.id).count() == 5
        [grant] = await MailboxGrant.filter(tenant_id=world.tenant.id)
    assert (grant.mailbox_id, grant.grantee_id) == (by_owner[hm.user_id].id, recruiter.user_id)
    result = await sending.send_test_email(await world.scope("recruiter"),
                                           sender=SenderChoice("delegated", grant.mailbox_id),
                                           to="ada@example.org")
    [sent] = mail.messages("microsoft", hm.email)
    assert sent["messageId"] == result.message_id


async def test_nothing_happens_without_an_emulator(settings_fixture_guard, world: World):
    assert settings().provider_emulator_url is None
    assert await connect_demo_mailboxes([(world.admin.email, "A", "admin")],
                                        world.tenant.slug) == []


@pytest.fixture
def settings_fixture_guard(settings):
    return settings

"""Prospect use cases: create (or merge into an existing match), update, archive, merge,
notes, calls, custom fields, demographics, and the rules of engagement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from tortoise.expressions import Q
from tortoise.fields import CharField

from domain.core import clock, db
from domain.core.config import settings
from domain.core.errors import DomainError, NotFound
from domain.core.ids import uuid7
from domain.core.pagination import Page, PageArgs, paginate
from domain.core.scope import Scope
from domain.events.service import publish
from domain.prospects import events, rules
from domain.prospects.errors import EngagementBlocked
from domain.prospects.models import (
    Activity,
    CustomFieldDefinition,
    Note,
    Notification,
    ProjectProspect,
    Prospect,
    ProspectDemographics,
    ProspectEmail,
    ProspectProfile,
    ProspectTag,
)
from domain.prospects.rules import ProspectData
from domain.tenancy import service as tenancy

SCALARS = ("first_name", "last_name", "phone", "title", "company", "location", "time_zone",
           "source")
# Each scalar's limit is its column's: PostgreSQL refuses longer values where SQLite would not.
MAX_LENGTH: dict[str, int] = {
    name: cast(CharField, Prospect._meta.fields_map[name]).max_length for name in SCALARS}


# --- reading ---------------------------------------------------------------------------------

def visible(scope: Scope) -> Any:
    """The prospects a scope may see: its tenant's, not merged away."""
    return Prospect.filter(tenant_id=scope.tenant_id, merged_into_id=None)


async def prospects_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Prospect]:
    if not scope.can("prospects:read"):
        return {}
    async with db.tenant_tx(scope):
        return {p.id: p for p in await visible(scope).filter(id__in=list(ids))}


async def get_prospect(scope: Scope, prospect_id: UUID, *, field: str = "prospectId") -> Prospect:
    found = (await prospects_by_ids(scope, [prospect_id])).get(prospect_id)
    if found is None:
        raise NotFound("No such prospect.", field=field)
    return found


@dataclass(frozen=True, slots=True)
class EmailEntry:
    email: str
    is_primary: bool


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    kind: str
    url: str


@dataclass(frozen=True, slots=True)
class TagEntry:
    tag: str


async def _grouped(scope: Scope, model: Any, ids: Sequence[UUID], order: str,
                   columns: tuple[str, ...], make: Any) -> dict[UUID, list[Any]]:
    """Plain values, not ORM instances: a page of prospects reads a few hundred of these rows,
    and building a model instance per row cost more than the query."""
    if not scope.can("prospects:read"):
        return {}
    async with db.tenant_tx(scope):
        rows = await model.filter(tenant_id=scope.tenant_id, prospect_id__in=list(ids)).order_by(
            order).values_list("prospect_id", *columns)
    grouped: dict[UUID, list[Any]] = defaultdict(list)
    for prospect_id, *values in rows:
        grouped[prospect_id].append(make(*values))
    return grouped


async def emails_by_prospect(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, list[EmailEntry]]:
    return await _grouped(scope, ProspectEmail, ids, "-is_primary", ("email", "is_primary"),
                          EmailEntry)


async def profiles_by_prospect(scope: Scope, ids: Sequence[UUID]
                               ) -> dict[UUID, list[ProfileEntry]]:
    return await _grouped(scope, ProspectProfile, ids, "id", ("kind", "url"), ProfileEntry)


async def tags_by_prospect(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, list[TagEntry]]:
    return await _grouped(scope, ProspectTag, ids, "tag", ("tag",), TagEntry)


async def list_activities(scope: Scope, *, prospect_id: UUID, page: PageArgs,
                          kinds: list[str] | None = None,
                          actor_user_id: UUID | None = None) -> Page[Activity]:
    """Newest first: the page walks backwards through the time-ordered ids."""
    scope.require("prospects:read")
    async with db.tenant_tx(scope):
        qs = Activity.filter(tenant_id=scope.tenant_id, prospect_id=prospect_id)
        if kinds:
            qs = qs.filter(kind__in=kinds)
        if actor_user_id is not None:
            qs = qs.filter(actor_user_id=actor_user_id)
        return await paginate(qs, page, settings().max_page_size, newest_first=True)


async def demographics_of(scope: Scope, prospect_id: UUID) -> dict[str, Any] | None:
    """Admins only; everyone else sees nothing rather than an error, as for an unknown row."""
    if scope.role != "admin":
        return None
    async with db.tenant_tx(scope):
        row = await ProspectDemographics.get_or_none(tenant_id=scope.tenant_id,
                                                     prospect_id=prospect_id)
    return dict(row.data) if row else None


# --- custom fields -----------------------------------------------------------------------------

async def custom_field_definitions(scope: Scope) -> list[CustomFieldDefinition]:
    scope.require("prospects:read")
    async with db.tenant_tx(scope):
        return list(await CustomFieldDefinition.filter(tenant_id=scope.tenant_id,
                                                       archived_at=None).order_by("key"))


async def define_custom_field(scope: Scope, *, key: str, label: str, kind: str,
                              options: list[str]) -> CustomFieldDefinition:
    scope.require("tenancy:write")
    rules.check_custom_field_key(key)
    if kind not in rules.CUSTOM_FIELD_TYPES:
        raise DomainError("Unknown field type.", field="type")
    if kind.endswith("select") and not options:
        raise DomainError("Select fields need options.", field="options", code="REQUIRED")
    async with db.tenant_tx(scope):
        if await CustomFieldDefinition.exists(tenant_id=scope.tenant_id, key=key):
            raise DomainError(f"A field '{key}' exists already.", field="key", code="DUPLICATE")
        return await CustomFieldDefinition.create(
            tenant_id=scope.tenant_id, key=key, label=label.strip()[:100] or key, type=kind,
            options=sorted(set(options)) if kind.endswith("select") else [],
            created_at=clock.now())


async def _checked_custom_fields(scope: Scope, values: dict[str, Any]) -> dict[str, Any]:
    if not values:
        return {}
    definitions = {d.key: d for d in await CustomFieldDefinition.filter(
        tenant_id=scope.tenant_id, archived_at=None, key__in=list(values))}
    checked = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            raise DomainError(f"Unknown custom field '{key}'.", field=["customFields", key],
                              code="NOT_FOUND")
        checked[key] = rules.check_custom_value(definition.type, definition.options, value, key)
    return checked


# --- writing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checked:
    emails: list[str]
    profiles: list[tuple[str, str]]
    tags: list[str]


def check_data(data: ProspectData) -> Checked:
    if len(data.profile_urls) > rules.MAX_PROFILES:
        raise DomainError(f"At most {rules.MAX_PROFILES} profile URLs.", field="profileUrls",
                          code="OUT_OF_RANGE")
    if len(data.tags) > rules.MAX_TAGS:
        raise DomainError(f"At most {rules.MAX_TAGS} tags.", field="tags", code="OUT_OF_RANGE")
    for name in SCALARS:
        value = getattr(data, name)
        if value is not None and len(value) > MAX_LENGTH[name]:
            raise DomainError(f"At most {MAX_LENGTH[name]} characters.", field=_camel(name),
                              code="OUT_OF_RANGE")
    profiles = list(dict.fromkeys(rules.normalise_profile_url(u) for u in data.profile_urls))
    return Checked(rules.check_emails(data.emails), profiles,
                   list(dict.fromkeys(rules.check_tag(t) for t in data.tags)))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


async def _find_match(scope: Scope, checked: Checked) -> Prospect | None:
    """An existing prospect with one of these emails or profile URLs (merged ones followed)."""
    ids = set()
    if checked.emails:
        ids |= set(await ProspectEmail.filter(tenant_id=scope.tenant_id,
                                              email__in=checked.emails).values_list(
            "prospect_id", flat=True))
    if checked.profiles:
        ids |= set(await ProspectProfile.filter(tenant_id=scope.tenant_id,
                                                url__in=[u for _, u in checked.profiles]
                                                ).values_list("prospect_id", flat=True))
    if not ids:
        return None
    query = Prospect.filter(tenant_id=scope.tenant_id, id__in=list(ids)).order_by("id")
    if db.dialect() == "postgres":
        query = query.select_for_update()
    return await query.first()


async def _attach(scope: Scope, prospect: Prospect, checked: Checked) -> None:
    """Add emails, profile URLs and tags the prospect does not have yet."""
    now = clock.now()
    have_primary = await ProspectEmail.exists(tenant_id=scope.tenant_id, prospect_id=prospect.id,
                                              is_primary=True)
    known = set(await ProspectEmail.filter(tenant_id=scope.tenant_id,
                                           email__in=checked.emails).values_list("email", flat=True)
                ) if checked.emails else set()
    for email in checked.emails:
        if email not in known:
            await ProspectEmail.create(tenant_id=scope.tenant_id, prospect_id=prospect.id,
                                       email=email, is_primary=not have_primary, created_at=now)
            have_primary = True
    urls = set(await ProspectProfile.filter(tenant_id=scope.tenant_id,
                                            url__in=[u for _, u in checked.profiles]
                                            ).values_list("url", flat=True)
               ) if checked.profiles else set()
    for kind, url in checked.profiles:
        if url not in urls:
            await ProspectProfile.create(tenant_id=scope.tenant_id, prospect_id=prospect.id,
                                         kind=kind, url=url, created_at=now)
    tags = set(await ProspectTag.filter(tenant_id=scope.tenant_id, prospect_id=prospect.id
                                        ).values_list("tag", flat=True))
    for tag in checked.tags:
        if tag not in tags:
            await ProspectTag.create(tenant_id=scope.tenant_id, prospect_id=prospect.id, tag=tag)


async def _refresh_search_text(prospect: Prospect) -> None:
    notes = await Note.filter(tenant_id=prospect.tenant_id, prospect_id=prospect.id
                              ).order_by("-id").limit(20).values_list("body", flat=True)
    prospect.search_text = rules.search_text(prospect.first_name, prospect.last_name,
                                             prospect.title, prospect.company, prospect.location,
                                             *[str(n) for n in notes])


async def check_owner(scope: Scope, owner_id: UUID | None) -> None:
    """NotFound on ownerId unless the owner (when given) is a member of the tenant."""
    if owner_id is not None and not await tenancy.users_by_ids(scope, [owner_id]):
        raise NotFound("No such member.", field="ownerId")


async def save_prospect(scope: Scope, data: ProspectData, *,
                        activity_source: str = "manual") -> tuple[Prospect, bool]:
    """Create a prospect, or, when one of its emails or profile URLs exists already, merge
    what is new into that one. Returns (prospect, merged). Call inside a transaction or not:
    it opens its own (nested ones become savepoints)."""
    scope.require("prospects:write")
    checked = check_data(data)
    if not checked.emails and not checked.profiles and not (data.first_name or "").strip():
        raise DomainError("Give at least a name, an email or a profile URL.", field="firstName",
                          code="REQUIRED")
    async with db.tenant_tx(scope):
        custom = await _checked_custom_fields(scope, data.custom_fields)
        await check_owner(scope, data.owner_id)
        now = clock.now()
        existing = await _find_match(scope, checked)
        if existing is not None:
            for name in SCALARS:  # fill what the existing record lacks; never overwrite
                value = getattr(data, name)
                if value and not getattr(existing, name):
                    setattr(existing, name, value.strip())
            existing.custom_fields = {**custom, **(existing.custom_fields or {})}
            if existing.owner_id is None and data.owner_id is not None:
                existing.owner_id = data.owner_id
            existing.updated_at = now
            await _attach(scope, existing, checked)
            await _refresh_search_text(existing)
            await existing.save()
            await publish(events.PROSPECT_UPDATED, {"prospectId": str(existing.id),
                          "via": activity_source}, scope=scope)
            return existing, True
        prospect = Prospect(
            tenant_id=scope.tenant_id, first_name=(data.first_name or "").strip(),
            **{n: (getattr(data, n) or "").strip() for n in ("last_name", "title", "company",
                                                              "location", "source")},
            time_zone=data.time_zone, phone=data.phone, custom_fields=custom,
            owner_id=data.owner_id or scope.user_id, created_by_id=scope.user_id,
            created_at=now, updated_at=now, last_activity_at=now)
        await _refresh_search_text(prospect)
        await prospect.save()
        await _attach(scope, prospect, checked)
        await publish(events.PROSPECT_CREATED, {"prospectId": str(prospect.id), "activity": {
            "kind": "created", "prospectIds": [str(prospect.id)],
            "source": activity_source}}, scope=scope)
        return prospect, False


async def update_prospect(scope: Scope, *, prospect_id: UUID, data: ProspectData,
                          replace_tags: bool = False) -> Prospect:
    """Given fields overwrite; given emails, URLs and tags are added (or, with replace_tags,
    the tags become exactly those given)."""
    scope.require("prospects:write")
    checked = check_data(data)
    async with db.tenant_tx(scope):
        prospect = await visible(scope).filter(id=prospect_id).first()
        if prospect is None:
            raise NotFound("No such prospect.", field="prospectId")
        for email in checked.emails:
            owner = await ProspectEmail.filter(tenant_id=scope.tenant_id, email=email
                                               ).values_list("prospect_id", flat=True)
            if owner and owner[0] != prospect.id:
                raise DomainError(f"{email} belongs to another prospect; merge them instead.",
                                  field="emails", code="DUPLICATE")
        for _, url in checked.profiles:
            owner = await ProspectProfile.filter(tenant_id=scope.tenant_id, url=url
                                                 ).values_list("prospect_id", flat=True)
            if owner and owner[0] != prospect.id:
                raise DomainError(f"{url} belongs to another prospect; merge them instead.",
                                  field="profileUrls", code="DUPLICATE")
        for name in SCALARS:
            value = getattr(data, name)
            if value is not None:
                if name == "first_name" and not value.strip():
                    raise DomainError("A first name cannot be empty.", field="firstName",
                                      code="REQUIRED")
                setattr(prospect, name, value.strip())
        if data.custom_fields:
            prospect.custom_fields = {**(prospect.custom_fields or {}),
                                      **await _checked_custom_fields(scope, data.custom_fields)}
        previous_owner = prospect.owner_id
        if data.owner_id is not None and data.owner_id != prospect.owner_id:
            await check_owner(scope, data.owner_id)
            prospect.owner_id = data.owner_id
        if replace_tags:
            await ProspectTag.filter(tenant_id=scope.tenant_id, prospect_id=prospect.id).delete()
        await _attach(scope, prospect, checked)
        prospect.updated_at = clock.now()
        await _refresh_search_text(prospect)
        await prospect.save()
        await publish(events.PROSPECT_UPDATED, {"prospectId": str(prospect.id)}, scope=scope)
        if prospect.owner_id != previous_owner:
            await publish(events.OWNER_CHANGED, {"prospectId": str(prospect.id), "activity": {
                "kind": "owner_changed", "prospectIds": [str(prospect.id)],
                "from": str(previous_owner) if previous_owner else None,
                "to": str(prospect.owner_id)}}, scope=scope)
        return prospect


async def archive_prospect(scope: Scope, *, prospect_id: UUID) -> Prospect:
    scope.require("prospects:write")
    async with db.tenant_tx(scope):
        prospect = await visible(scope).filter(id=prospect_id).first()
        if prospect is None:
            raise NotFound("No such prospect.", field="prospectId")
        if prospect.archived_at is None:
            prospect.archived_at = clock.now()
            await prospect.save(update_fields=["archived_at"])
            await publish(events.PROSPECT_ARCHIVED, {"prospectId": str(prospect.id), "activity": {
                "kind": "archived", "prospectIds": [str(prospect.id)]}}, scope=scope)
        return prospect


async def merge_prospects(scope: Scope, *, target_id: UUID, source_id: UUID) -> Prospect:
    """Everything of source moves to target; source then resolves to nothing."""
    scope.require("prospects:write")
    if target_id == source_id:
        raise DomainError("Pick two different prospects.", field="sourceId", code="INVALID")
    async with db.tenant_tx(scope):
        query = visible(scope).filter(id__in=[target_id, source_id])
        if db.dialect() == "postgres":
            query = query.select_for_update()
        found = {p.id: p for p in await query}
        if target_id not in found:
            raise NotFound("No such prospect.", field="targetId")
        if source_id not in found:
            raise NotFound("No such prospect.", field="sourceId")
        target, source = found[target_id], found[source_id]
        tid = scope.tenant_id
        await ProspectEmail.filter(tenant_id=tid, prospect_id=source.id).update(
            prospect_id=target.id, is_primary=False)
        await ProspectProfile.filter(tenant_id=tid, prospect_id=source.id).update(
            prospect_id=target.id)
        have_tags = set(await ProspectTag.filter(tenant_id=tid, prospect_id=target.id
                                                 ).values_list("tag", flat=True))
        await ProspectTag.filter(tenant_id=tid, prospect_id=source.id, tag__in=list(have_tags)
                                 ).delete()
        await ProspectTag.filter(tenant_id=tid, prospect_id=source.id).update(
            prospect_id=target.id)
        in_projects = set(await ProjectProspect.filter(tenant_id=tid, prospect_id=target.id
                                                       ).values_list("project_id", flat=True))
        await ProjectProspect.filter(tenant_id=tid, prospect_id=source.id,
                                     project_id__in=list(in_projects)).delete()
        await ProjectProspect.filter(tenant_id=tid, prospect_id=source.id).update(
            prospect_id=target.id)
        await Activity.filter(tenant_id=tid, prospect_id=source.id).update(prospect_id=target.id)
        await Note.filter(tenant_id=tid, prospect_id=source.id).update(prospect_id=target.id)
        for name in SCALARS:
            if not getattr(target, name) and getattr(source, name):
                setattr(target, name, getattr(source, name))
        target.custom_fields = {**(source.custom_fields or {}), **(target.custom_fields or {})}
        target.owner_id = target.owner_id or source.owner_id
        for stamp in ("last_activity_at", "last_contacted_at", "last_replied_at"):
            values = [v for v in (getattr(target, stamp), getattr(source, stamp)) if v]
            setattr(target, stamp, max(values) if values else None)
        target.updated_at = clock.now()
        await _refresh_search_text(target)
        await target.save()
        source.merged_into_id, source.archived_at = target.id, clock.now()
        await source.save(update_fields=["merged_into_id", "archived_at"])
        await publish(events.PROSPECTS_MERGED, {
            "targetId": str(target.id), "sourceId": str(source.id), "activity": {
                "kind": "merged", "prospectIds": [str(target.id)],
                "mergedName": f"{source.first_name} {source.last_name}".strip()}}, scope=scope)
        return target


async def add_note(scope: Scope, *, prospect_id: UUID, body: str,
                   mention_user_ids: Sequence[UUID] = ()) -> Note:
    """Mentioned members get a notification (delivered later by the integrations work)."""
    scope.require("prospects:write")
    body = rules.check_note(body)
    async with db.tenant_tx(scope):
        prospect = await visible(scope).filter(id=prospect_id).first()
        if prospect is None:
            raise NotFound("No such prospect.", field="prospectId")
        mentioned = list(dict.fromkeys(mention_user_ids))
        members = await tenancy.users_by_ids(scope, mentioned)
        unknown = [u for u in mentioned if u not in members]
        if unknown:
            raise NotFound("A mentioned member does not exist.", field="mentionIds")
        now = clock.now()
        note = await Note.create(tenant_id=scope.tenant_id, prospect_id=prospect.id,
                                 author_id=scope.user_id, body=body,
                                 mentions=[str(u) for u in mentioned], created_at=now)
        for user_id in mentioned:
            await notify(scope, user_id=user_id, kind="mention",
                         payload={"prospectId": str(prospect.id), "noteId": str(note.id),
                                  "by": str(scope.user_id) if scope.user_id else None})
        prospect.last_activity_at = now
        await _refresh_search_text(prospect)
        await prospect.save(update_fields=["last_activity_at", "search_text"])
        await publish(events.NOTE_ADDED, {"noteId": str(note.id), "activity": {
            "kind": "note", "prospectIds": [str(prospect.id)], "noteId": str(note.id),
            "body": body[:500], "mentions": note.mentions}}, scope=scope)
        return note


async def log_call(scope: Scope, *, prospect_id: UUID, summary: str,
                   occurred_at: datetime | None = None) -> Prospect:
    scope.require("prospects:write")
    summary = rules.check_note(summary)
    async with db.tenant_tx(scope):
        prospect = await visible(scope).filter(id=prospect_id).first()
        if prospect is None:
            raise NotFound("No such prospect.", field="prospectId")
        when = occurred_at or clock.now()
        prospect.last_activity_at = max(when, prospect.last_activity_at or when)
        prospect.last_contacted_at = max(when, prospect.last_contacted_at or when)
        await prospect.save(update_fields=["last_activity_at", "last_contacted_at"])
        await publish(events.CALL_LOGGED, {"activity": {
            "kind": "call_logged", "prospectIds": [str(prospect.id)], "summary": summary,
            "occurredAt": when.isoformat()}}, scope=scope)
        return prospect


async def set_demographics(scope: Scope, *, prospect_id: UUID, data: dict[str, str]) -> None:
    scope.require("prospects:write")
    cleaned = {k: str(v)[:100] for k, v in data.items() if v is not None}
    async with db.tenant_tx(scope):
        if not await visible(scope).filter(id=prospect_id).exists():
            raise NotFound("No such prospect.", field="prospectId")
        row = await ProspectDemographics.get_or_none(tenant_id=scope.tenant_id,
                                                     prospect_id=prospect_id)
        if row is None:
            await ProspectDemographics.create(tenant_id=scope.tenant_id, prospect_id=prospect_id,
                                              data=cleaned, updated_at=clock.now())
        else:
            row.data, row.updated_at = cleaned, clock.now()
            await row.save()


# --- notifications ---------------------------------------------------------------------------

async def notify(scope: Scope, *, user_id: UUID, kind: str, payload: dict[str, Any]) -> Notification:
    """Record a notification for a member (delivery comes with the integrations capability).
    Joins the caller's transaction; other contexts (mailboxes, SLAs) call it too."""
    return await Notification.create(tenant_id=scope.tenant_id, user_id=user_id, kind=kind,
                                     payload=payload, created_at=clock.now())


async def list_notifications(scope: Scope, page: PageArgs, *, unread_only: bool = False
                             ) -> Page[Notification]:
    if scope.user_id is None:
        return Page([], False, False)
    async with db.tenant_tx(scope):
        qs = Notification.filter(tenant_id=scope.tenant_id, user_id=scope.user_id)
        if unread_only:
            qs = qs.filter(read_at=None)
        return await paginate(qs, page, settings().max_page_size)


async def mark_notifications_read(scope: Scope, *, ids: Sequence[UUID]) -> int:
    if scope.user_id is None:
        return 0
    async with db.tenant_tx(scope):
        return int(await Notification.filter(tenant_id=scope.tenant_id, user_id=scope.user_id,
                                             id__in=list(ids), read_at=None
                                             ).update(read_at=clock.now()))


# --- rules of engagement -----------------------------------------------------------------------

@dataclass(frozen=True)
class EngagementCheck:
    allowed: bool
    warning: str | None
    owner_id: UUID | None
    reason: str | None


async def claim_engagement(scope: Scope, *, prospect_id: UUID, owner_id: UUID,
                           reason: str) -> None:
    """Sequences and the pipeline call this when a prospect enters an active sequence or a
    process: the member becomes the relationship's owner until released."""
    async with db.tenant_tx(scope):
        await visible(scope).filter(id=prospect_id).update(
            engagement_owner_id=owner_id, engagement_reason=reason,
            engagement_since=clock.now())


async def release_engagement(scope: Scope, *, prospect_id: UUID, owner_id: UUID) -> None:
    async with db.tenant_tx(scope):
        await visible(scope).filter(id=prospect_id, engagement_owner_id=owner_id).update(
            engagement_owner_id=None, engagement_reason=None, engagement_since=None)


async def check_engagement(scope: Scope, *, prospect_id: UUID) -> EngagementCheck:
    """Whether the caller may contact the prospect: fine when nobody else owns the
    relationship; otherwise a warning, or a refusal when the tenant's policy is 'block'."""
    prospect = await get_prospect(scope, prospect_id)
    owner = prospect.engagement_owner_id
    if owner is None or owner == scope.user_id:
        return EngagementCheck(True, None, owner, prospect.engagement_reason)
    tenant = await tenancy.get_tenant(scope)
    blocked = (tenant.settings or {}).get("engagementPolicy") == "block"
    message = (f"Another member owns this relationship ({prospect.engagement_reason or 'active'})."
               + (" The tenant blocks contacting it." if blocked else ""))
    return EngagementCheck(not blocked, message, owner, prospect.engagement_reason)


async def require_engagement(scope: Scope, *, prospect_id: UUID) -> EngagementCheck:
    """For callers about to contact: raises EngagementBlocked under a 'block' policy."""
    check = await check_engagement(scope, prospect_id=prospect_id)
    if not check.allowed:
        raise EngagementBlocked(check.warning or "Blocked.", field="prospectId")
    return check


# --- the activity feed, fed by events -------------------------------------------------------

# record_activity on PostgreSQL: the prospects that exist get the activity (a redelivered
# event's rows exist already: unique (tenant_id, event_id, prospect_id)) and a later
# last_activity_at.
_RECORD_ACTIVITY = """
WITH present AS (
    SELECT r.id, r.prospect_id FROM unnest($1::uuid[], $2::uuid[]) AS r (id, prospect_id)
    JOIN prospects p ON p.tenant_id = $3 AND p.id = r.prospect_id
), added AS (
    INSERT INTO activities (id, tenant_id, prospect_id, kind, actor_user_id, occurred_at,
                            payload, event_id)
    SELECT id, $3, prospect_id, $4, $5, $6, $7::jsonb, $8 FROM present
    ON CONFLICT DO NOTHING
)
UPDATE prospects SET last_activity_at = $6
WHERE tenant_id = $3 AND id IN (SELECT prospect_id FROM present)
  AND (last_activity_at IS NULL OR last_activity_at < $6)"""


async def record_activity(event: Any) -> None:
    """Durable handler for every event with an "activity" section; idempotent per event."""
    section = (event.payload or {}).get("activity")
    if not section:
        return
    occurred = section.get("occurredAt")
    when = datetime.fromisoformat(occurred) if occurred else event.created_at
    actor = event.actor.split(":", 1)[1] if event.actor and event.actor.startswith("user:") \
        else None
    wanted = list(dict.fromkeys(UUID(raw) for raw in section.get("prospectIds", [])))
    if not wanted:
        return
    payload = {k: v for k, v in section.items() if k not in ("kind", "prospectIds")}
    if db.dialect() == "postgres":
        # One statement: every event of the pipeline and the CRM lands here.
        await Activity._meta.db.execute_query(_RECORD_ACTIVITY, [
            [uuid7() for _ in wanted], wanted, event.tenant_id, section["kind"],
            UUID(actor) if actor else None, when,
            Activity._meta.fields_map["payload"].to_db_value(payload, Activity), event.id])
        return
    # Three statements however many prospects the event names; a redelivered event's rows
    # already exist and are skipped by the unique (tenant_id, event_id, prospect_id).
    present = await Prospect.filter(tenant_id=event.tenant_id, id__in=wanted
                                    ).values_list("id", flat=True)
    if not present:
        return
    await Activity.bulk_create(
        [Activity(tenant_id=event.tenant_id, prospect_id=prospect_id, kind=section["kind"],
                  actor_user_id=actor, occurred_at=when, payload=payload, event_id=event.id)
         for prospect_id in present], ignore_conflicts=True)
    await Prospect.filter(tenant_id=event.tenant_id, id__in=list(present)).filter(
        Q(last_activity_at=None) | Q(last_activity_at__lt=when)).update(last_activity_at=when)

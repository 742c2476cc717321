"""The pure rules of tenancy: normalisation, validation and the role table."""

from __future__ import annotations

import pytest

from domain.core.errors import DomainError
from domain.tenancy import rules


def error_of(call, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- email -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("ada@example.com", "ada@example.com"),
    ("Ada@Example.COM", "ada@example.com"),
    ("ada@EXAMPLE.COM", "ada@example.com"),
    ("  ada.lovelace+jobs@sub.Example.org\t", "ada.lovelace+jobs@sub.example.org"),
    ("o'brien@example.ie", "o'brien@example.ie"),
    ("x@a-b.co", "x@a-b.co"),
])
def test_emails_are_trimmed_and_lowercased(raw, expected):
    assert rules.normalise_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "   ", None, "plain", "@example.com", "ada@", "ada@example", "ada@@example.com",
    "ada lovelace@example.com", "ada@-example.com", "ada@example-.com", "ada@example..com",
    "ada@exa_mple.com", "a" * 250 + "@example.com", "ada@example.com\nbcc@evil.com",
])
def test_invalid_emails_are_refused(raw):
    error = error_of(rules.normalise_email, raw)
    assert error.code == "INVALID_EMAIL"
    assert error.field == ["email"]


def test_email_errors_can_name_another_field():
    assert error_of(rules.normalise_email, "nope", field="invitee").field == ["invitee"]


def test_the_longest_email_is_254_characters():
    domain = ".".join(["b" * 61] * 3) + ".com"  # 189 characters
    email = f"{'a' * 64}@{domain}"
    assert len(email) == 254
    assert rules.normalise_email(email) == email
    longer = f"{'a' * 65}@{domain}"
    assert len(longer) == 255
    assert error_of(rules.normalise_email, longer).code == "INVALID_EMAIL"


# --- passwords -------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [rules.PASSWORD_MIN, rules.PASSWORD_MIN + 1, 100,
                                    rules.PASSWORD_MAX])
def test_passwords_within_bounds_are_accepted(length):
    rules.check_password("p" * length)


@pytest.mark.parametrize("password", ["", None, "p" * (rules.PASSWORD_MIN - 1),
                                      "p" * (rules.PASSWORD_MAX + 1)])
def test_passwords_outside_bounds_are_refused(password):
    error = error_of(rules.check_password, password)
    assert (error.code, error.field) == ("INVALID_PASSWORD", ["password"])


def test_password_bounds():
    assert (rules.PASSWORD_MIN, rules.PASSWORD_MAX) == (10, 256)


# --- roles and permissions -------------------------------------------------------------------

def test_every_role_has_an_entry_in_the_table():
    assert set(rules.ROLE_PERMISSIONS) == set(rules.ROLES)
    assert rules.ROLES == ("admin", "recruiter", "sourcer", "coordinator", "hiring_manager",
                           "viewer")


def test_only_admins_may_write_tenancy():
    holders = {r for r, perms in rules.ROLE_PERMISSIONS.items() if "tenancy:write" in perms}
    assert holders == {"admin"}
    assert rules.ROLE_PERMISSIONS["admin"] == rules.ALL_PERMISSIONS


@pytest.mark.parametrize("role", rules.ROLES)
def test_every_role_reads_every_context(role):
    reads = {f"{c}:read" for c in rules.CONTEXTS}
    assert reads <= rules.ROLE_PERMISSIONS[role]


@pytest.mark.parametrize("role, writes", [
    ("recruiter", {"prospects", "sequences", "mailboxes", "reviews", "pipeline"}),
    ("sourcer", {"prospects", "sequences", "mailboxes", "reviews"}),
    ("coordinator", {"prospects", "mailboxes", "pipeline"}),
    ("hiring_manager", {"mailboxes", "reviews", "pipeline"}),
    ("viewer", set()),
])
def test_writes_of_each_role(role, writes):
    granted = {p.split(":")[0] for p in rules.ROLE_PERMISSIONS[role] if p.endswith(":write")}
    assert granted == writes
    assert rules.ROLE_PERMISSIONS[role] <= rules.ALL_PERMISSIONS


def test_every_permission_is_known():
    for perms in rules.ROLE_PERMISSIONS.values():
        assert perms <= rules.ALL_PERMISSIONS
    assert "ats:write" in rules.ALL_PERMISSIONS
    assert len(rules.ALL_PERMISSIONS) == 2 * len(rules.CONTEXTS) + 1


@pytest.mark.parametrize("role", rules.ROLES)
def test_known_roles_pass(role):
    assert rules.check_role(role) == role


@pytest.mark.parametrize("role", ["", "Admin", "ADMIN", "owner", "admin "])
def test_unknown_roles_are_refused(role):
    error = error_of(rules.check_role, role)
    assert (error.code, error.field) == ("INVALID_ROLE", ["role"])


# --- API key scopes --------------------------------------------------------------------------

def test_api_keys_may_have_anything_but_tenancy_write():
    assert rules.API_KEY_PERMISSIONS == rules.ALL_PERMISSIONS - {"tenancy:write"}
    assert "tenancy:read" in rules.API_KEY_PERMISSIONS


def test_scopes_are_deduplicated_and_sorted():
    assert rules.check_api_key_scopes(["prospects:read", "ats:write", "prospects:read"]) == [
        "ats:write", "prospects:read"]


@pytest.mark.parametrize("scopes", [[], ["tenancy:write"], ["nope:read"],
                                    ["prospects:read", "tenancy:write"], ["PROSPECTS:READ"],
                                    ["prospects"], ["*"]])
def test_bad_scopes_are_refused(scopes):
    error = error_of(rules.check_api_key_scopes, scopes)
    assert (error.code, error.field) == ("INVALID_SCOPE", ["scopes"])


def test_the_scope_error_names_the_offenders():
    error = error_of(rules.check_api_key_scopes, ["zeta:read", "prospects:read", "alpha:read"])
    assert "alpha:read, zeta:read" in error.message
    assert "prospects:read" not in error.message


# --- names and slugs -------------------------------------------------------------------------

def test_names_are_trimmed_and_bounded():
    assert rules.check_name("  Acme  ") == "Acme"
    assert rules.check_name("x" * 200) == "x" * 200
    for bad in ("", "   ", None, "x" * 201):
        error = error_of(rules.check_name, bad)
        assert (error.code, error.field) == ("INVALID", ["name"])
    assert rules.check_name("x" * 100, max_length=100) == "x" * 100
    assert error_of(rules.check_name, "x" * 101, max_length=100).code == "INVALID"


@pytest.mark.parametrize("slug", ["a", "acme", "acme-2", "0" * 63])
def test_good_slugs(slug):
    assert rules.check_slug(slug) == slug


@pytest.mark.parametrize("slug", ["", "-acme", "acme-", "Acme", "ac_me", "a" * 64, "ac me"])
def test_bad_slugs(slug):
    assert error_of(rules.check_slug, slug).field == ["slug"]


# --- settings --------------------------------------------------------------------------------

def test_merge_fills_defaults_and_applies_changes():
    assert rules.merge_settings({}, {}) == {"timeZone": "UTC", "engagementPolicy": "warn"}
    assert rules.merge_settings({"timeZone": "Europe/Paris"}, {"engagementPolicy": "block"}) == {
        "timeZone": "Europe/Paris", "engagementPolicy": "block"}
    assert rules.merge_settings({"timeZone": "Europe/Paris", "engagementPolicy": "block"},
                                {"timeZone": "America/New_York"}) == {
        "timeZone": "America/New_York", "engagementPolicy": "block"}


def test_none_means_unchanged():
    current = {"timeZone": "Asia/Tokyo", "engagementPolicy": "block"}
    assert rules.merge_settings(current, {"timeZone": None, "engagementPolicy": None}) == current


def test_merge_does_not_mutate_its_inputs():
    current = {"timeZone": "Asia/Tokyo"}
    changes = {"engagementPolicy": "block"}
    rules.merge_settings(current, changes)
    assert current == {"timeZone": "Asia/Tokyo"}
    assert changes == {"engagementPolicy": "block"}
    assert rules.DEFAULT_SETTINGS == {"timeZone": "UTC", "engagementPolicy": "warn"}


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "utc", "../../etc/passwd", "/etc/localtime",
                                  "zone.tab", "Europe/"])
def test_unknown_time_zones_are_refused(zone):
    error = error_of(rules.merge_settings, {}, {"timeZone": zone})
    assert (error.code, error.field) == ("INVALID", ["settings", "timeZone"])


def test_a_time_zone_directory_is_refused():
    error = error_of(rules.merge_settings, {}, {"timeZone": "America"})
    assert error.field == ["settings", "timeZone"]


@pytest.mark.parametrize("policy", ["allow", "WARN", "Block", ""])
def test_unknown_engagement_policies_are_refused(policy):
    error = error_of(rules.merge_settings, {}, {"engagementPolicy": policy})
    assert (error.code, error.field) == ("INVALID", ["settings", "engagementPolicy"])

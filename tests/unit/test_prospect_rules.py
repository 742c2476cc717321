"""Pure rules of the talent CRM."""

from __future__ import annotations

import pytest

from domain.core.errors import DomainError
from domain.prospects import rules


@pytest.mark.parametrize(("raw", "expected"), [
    ("linkedin.com/in/AdaL", ("linkedin", "https://linkedin.com/in/adal")),
    ("http://www.linkedin.com/in/adal/", ("linkedin", "https://linkedin.com/in/adal")),
    ("https://uk.linkedin.com/in/adal?trk=abc#x", ("linkedin", "https://linkedin.com/in/adal")),
    ("https://m.linkedin.com/pub/AdaL/1/2/3", ("linkedin", "https://linkedin.com/in/adal")),
    ("https://github.com/Octocat/repo/tree/main", ("github", "https://github.com/octocat")),
    ("twitter.com/Jack", ("twitter", "https://x.com/jack")),
    ("https://Example.org/People/Ada/", ("other", "https://example.org/People/Ada")),
])
def test_profile_urls_normalise_trivial_variants(raw, expected):
    assert rules.normalise_profile_url(raw) == expected


@pytest.mark.parametrize("raw", ["", "ftp://example.org/x", "https://localhost/x", "not a url",
                                 "https://" + "a" * 600 + ".com"])
def test_bad_urls_are_refused_naming_the_field(raw):
    with pytest.raises(DomainError) as caught:
        rules.normalise_profile_url(raw)
    assert caught.value.code == "INVALID_URL"
    assert caught.value.field == ["profileUrls"]


@pytest.mark.parametrize(("kind", "options", "value", "stored"), [
    ("text", [], "hello", "hello"),
    ("number", [], 3.5, 3.5),
    ("date", [], "2026-01-31", "2026-01-31"),
    ("single_select", ["a", "b"], "b", "b"),
    ("multi_select", ["a", "b", "c"], ["c", "a", "c"], ["a", "c"]),
    ("text", [], None, None),
])
def test_custom_values_are_checked_and_normalised(kind, options, value, stored):
    assert rules.check_custom_value(kind, options, value, "k") == stored


@pytest.mark.parametrize(("kind", "options", "value"), [
    ("text", [], 5), ("text", [], "x" * 2001), ("number", [], "5"), ("number", [], True),
    ("date", [], "31/01/2026"), ("single_select", ["a"], "z"), ("multi_select", ["a"], "a"),
    ("multi_select", ["a"], ["a", "z"]),
])
def test_wrong_custom_values_name_the_field(kind, options, value):
    with pytest.raises(DomainError) as caught:
        rules.check_custom_value(kind, options, value, "seniority")
    assert caught.value.field == ["customFields", "seniority"]


def test_emails_are_normalised_and_deduplicated_in_order():
    assert rules.check_emails(["B@X.org", "a@x.org", "b@x.ORG"]) == ["b@x.org", "a@x.org"]
    with pytest.raises(DomainError):
        rules.check_emails(["nope"])
    with pytest.raises(DomainError) as caught:
        rules.check_emails([f"a{i}@x.org" for i in range(11)])
    assert caught.value.code == "OUT_OF_RANGE"


def test_tags_are_lowercased_and_checked():
    assert rules.check_tag(" Python ") == "python"
    for bad in ["", "-x", "x" * 65, "a;b"]:
        with pytest.raises(DomainError):
            rules.check_tag(bad)


def test_notes_must_have_text_within_the_limit():
    assert rules.check_note("  hi  ") == "hi"
    with pytest.raises(DomainError) as empty:
        rules.check_note("   ")
    assert empty.value.code == "REQUIRED"
    with pytest.raises(DomainError) as long:
        rules.check_note("x" * (rules.MAX_NOTE_LENGTH + 1))
    assert long.value.code == "OUT_OF_RANGE"


def test_search_text_is_lowercase_and_bounded():
    assert rules.search_text("Ada", None, "  ", "Analytical ENGINE") == "ada analytical engine"
    assert len(rules.search_text("x" * 30_000)) == 20_000

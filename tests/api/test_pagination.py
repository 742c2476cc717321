"""Cursor pagination of the members connection, forwards and backwards, and its argument errors."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from domain.tenancy import service

PAGE = """
query($first: Int, $after: String, $last: Int, $before: String, $role: Role) {
  members(first: $first, after: $after, last: $last, before: $before, role: $role) {
    edges { cursor node { id user { email } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
EXTRA_MEMBERS = 7  # 6 in the world + 7 = 13: pages of 5 are 5, 5, 3


async def grow(world: Any) -> None:
    for n in range(EXTRA_MEMBERS):
        await service.ensure_member(tenant=world.tenant, email=f"extra{n}.{world.tenant.slug}"
                                    "@example.com", name=f"Extra {n}", role="viewer")


async def page(gql: Any, token: str, **args: Any) -> dict[str, Any]:
    return (await gql(PAGE, args, token=token))["data"]["members"]  # type: ignore[no-any-return]


async def bad_args(gql: Any, token: str, **args: Any) -> dict[str, Any]:
    body = await gql(PAGE, args, token=token, expect_errors=True)
    assert body["data"] is None
    assert len(body["errors"]) == 1
    assert body["errors"][0]["path"] == ["members"]
    return body["errors"][0]["extensions"]  # type: ignore[no-any-return]


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def named(field: Any) -> str:
    """The argument an error names (a plain name, or a one-element path)."""
    if isinstance(field, list):
        assert len(field) == 1, field
        return str(field[0])
    return str(field)


async def test_first_after_walks_every_page_once(gql, world):
    await grow(world)
    token = world.members["viewer"].token
    everyone = ids(await page(gql, token, first=100))
    assert len(everyone) == 6 + EXTRA_MEMBERS

    seen: list[str] = []
    infos = []
    after = None
    while True:
        current = await page(gql, token, first=5, after=after)
        seen += ids(current)
        info = current["pageInfo"]
        infos.append((len(current["edges"]), info["hasNextPage"], info["hasPreviousPage"]))
        assert info["startCursor"] == current["edges"][0]["cursor"]
        assert info["endCursor"] == current["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == everyone
    assert infos == [(5, True, False), (5, True, True), (3, False, True)]


async def test_last_before_walks_backwards(gql, world):
    await grow(world)
    token = world.admin.token
    everyone = ids(await page(gql, token, first=100))

    pages: list[list[str]] = []
    infos = []
    before = None
    while True:
        current = await page(gql, token, last=5, before=before)
        pages.append(ids(current))
        info = current["pageInfo"]
        infos.append((len(current["edges"]), info["hasPreviousPage"], info["hasNextPage"]))
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert pages[0] == everyone[-5:]  # each page in forward order
    assert [i for p in reversed(pages) for i in p] == everyone
    assert infos == [(5, True, False), (5, True, True), (3, False, True)]


async def test_exact_fit_has_no_next_page(gql, world):
    everyone = await page(gql, world.admin.token, first=6)
    assert len(everyone["edges"]) == 6
    assert everyone["pageInfo"]["hasNextPage"] is False
    last = await page(gql, world.admin.token, last=6)
    assert ids(last) == ids(everyone)
    assert last["pageInfo"]["hasPreviousPage"] is False


async def test_an_empty_page_has_no_cursors(gql, world):
    everyone = await page(gql, world.admin.token, first=100)
    after_last = await page(gql, world.admin.token, first=5,
                            after=everyone["pageInfo"]["endCursor"])
    assert after_last["edges"] == []
    assert after_last["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True,
                                      "startCursor": None, "endCursor": None}


async def test_pagination_combines_with_the_role_filter(gql, world):
    await grow(world)
    viewers = await page(gql, world.admin.token, first=100, role="VIEWER")
    assert len(viewers["edges"]) == 1 + EXTRA_MEMBERS
    first = await page(gql, world.admin.token, first=3, role="VIEWER")
    rest = await page(gql, world.admin.token, first=100, role="VIEWER",
                      after=first["pageInfo"]["endCursor"])
    assert ids(first) + ids(rest) == ids(viewers)
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_a_hundred_is_the_largest_page(gql, world):
    assert len((await page(gql, world.admin.token, first=100))["edges"]) == 6
    assert len((await page(gql, world.admin.token, last=100))["edges"]) == 6


@pytest.mark.parametrize("args", [{"first": 101}, {"first": 100000}, {"first": -1}])
async def test_out_of_range_first_is_bad_user_input(gql, world, args):
    extensions = await bad_args(gql, world.admin.token, **args)
    assert extensions["code"] == "BAD_USER_INPUT"
    assert named(extensions["field"]) == "first"


@pytest.mark.parametrize("args", [{"last": 101}, {"last": -5}])
async def test_out_of_range_last_is_bad_user_input(gql, world, args):
    extensions = await bad_args(gql, world.admin.token, **args)
    assert extensions["code"] == "BAD_USER_INPUT"
    assert named(extensions["field"]) == "last"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "", _b64("c:not-a-uuid"),
                                    _b64("Membership:01890000-0000-7000-8000-000000000000")])
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_garbage_cursor_is_bad_user_input(gql, world, cursor, argument):
    extensions = await bad_args(gql, world.admin.token, first=5 if argument == "after" else None,
                                **{argument: cursor})
    assert extensions == {"code": "BAD_USER_INPUT", "field": argument}


async def test_first_and_last_together_is_an_error(gql, world):
    extensions = await bad_args(gql, world.admin.token, first=2, last=2)
    assert extensions["code"] == "BAD_USER_INPUT"
    assert named(extensions["field"]) == "last"


async def test_argument_errors_name_the_argument_the_same_way(gql, world):
    size = await bad_args(gql, world.admin.token, first=101)
    cursor = await bad_args(gql, world.admin.token, after="garbage")
    assert type(size["field"]) is type(cursor["field"])
    assert size == {"code": "BAD_USER_INPUT", "field": "first"}

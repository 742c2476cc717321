"""Malformed and random requests to /graphql: always a well-formed GraphQL-over-HTTP answer
(a status the spec allows, a JSON body with errors or data), never a 500. Seeded, so a
failure reproduces."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

FRAGMENTS = ["{", "}", "(", ")", "[", "]", ":", "...", "@skip(if: true)", "@include(if: $v)",
             "viewer", "user", "id", "role", "tenant", "__typename", "__schema", "node",
             "prospects", "first: 5", "first: -1", "first: 100000", "$v", "query", "mutation",
             "subscription", "fragment F on Viewer", "on User", "\"text\"", "1e999", "null",
             "a: viewer", "\u0000", "\U0001F600", "#", "\n", ",", "id: \"eA\""]
MEDIA = ["application/json", "application/json; charset=utf-8", "application/json; charset=latin1",
         "application/graphql", "text/plain", "", "application/json;", "multipart/form-data"]
ACCEPT = [None, "*/*", "application/graphql-response+json", "application/json;q=0",
          "text/html", "application/graphql-response+json;q=0.5, application/json", ",,,;q="]


REAL = ["{ viewer { role permissions user { id name email } } }",
        "{ viewer { a: role b: role user { id } } __typename }",
        "query($v: Boolean!) { viewer @include(if: $v) { role } }",
        "{ prospects(first: 3) { nodes { id name emails { email } tags owner { name } } } }",
        "{ prospects(first: 0) { edges { cursor } pageInfo { hasNextPage } } }",
        "{ node(id: \"eA\") { id } nodes(ids: [\"\", \"VXNlcjox\"]) { id } }",
        "{ tenant { name settings { timeZone } } members(first: 2) { nodes { role } } }",
        "mutation { logout(input: {}) { errors { code } } }",
        "{ pipelineBoard(filter: {}) { jobs { id } } myActions(first: 2) { edges { cursor } } }"]


def _query(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(REAL)
    return " ".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 25)))


def _body(rng: random.Random) -> bytes:
    kind = rng.randrange(10)
    if kind == 0:
        return rng.randbytes(rng.randint(0, 64))
    if kind == 1:
        return orjson.dumps([{"query": _query(rng)}])
    payload: dict[str, Any] = {"query": _query(rng) if kind != 2 else rng.choice(
        [None, 1, [], {}, "", "{ viewer { role } }"])}
    if rng.random() < 0.5:
        payload["variables"] = rng.choice([None, {}, {"v": True}, [], "x", {"v": [1, {"a": None}]}])
    if rng.random() < 0.3:
        payload["operationName"] = rng.choice([None, "", "Q", 7, "F"])
    if rng.random() < 0.2:
        payload["extensions"] = rng.choice([None, {}, "x", {"persistedQuery": {"sha256Hash": 1}}])
    return orjson.dumps(payload)


@pytest.mark.parametrize("seed", range(4))
async def test_random_requests_get_well_formed_answers(client, world, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        # mostly well-formed requests, so that most reach parsing and execution
        method = rng.choice(["POST"] * 12 + ["GET"] * 3 + ["PUT", "DELETE", "PATCH"])
        headers: dict[str, str] = {}
        media = "application/json" if rng.random() < 0.7 else rng.choice(MEDIA)
        if media or rng.random() < 0.5:
            headers["content-type"] = media
        if (accept := None if rng.random() < 0.6 else rng.choice(ACCEPT)) is not None:
            headers["accept"] = accept
        if rng.random() < 0.6:
            headers["authorization"] = f"Bearer {world.admin.token}"
        elif rng.random() < 0.5:
            headers["authorization"] = rng.choice([
                "Bearer", "Basic abc", "Bearer not.a.jwt", f"Bearer {world.admin.token[:-3]}xyz",
                "bearer  " + world.admin.token, "Bearer tgk_" + "0" * 40])
        if rng.random() < 0.2:
            headers["x-request-id"] = rng.choice(["ok-id.1", "bad id!", "x" * 200])
        if method == "GET":
            response = await client.request(method, "/graphql", headers=headers, params={
                "query": _query(rng), "variables": rng.choice(["", "{", "{}", "[]"])})
        else:
            response = await client.request(method, "/graphql", headers=headers,
                                            content=_body(rng))
        assert response.status_code in (200, 400, 405, 406, 413, 415), (
            method, headers, response.status_code, response.text[:300])
        if response.headers.get("content-type", "").startswith("text/html"):
            continue  # GraphiQL for a browser's GET
        body = response.json()
        assert isinstance(body, dict) and ("errors" in body or "data" in body), body
        assert response.headers["x-request-id"]

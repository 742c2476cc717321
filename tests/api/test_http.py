"""The HTTP edge (api/graphql_http.py): the GraphQL-over-HTTP rules, the query limits and the
health endpoints, through the real ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route

from api import graphql_http
from api.app import create_app
from api.document_cache import Documents
from api.graphql_http import GraphQLEndpoint
from api.limits import Limits
from api.relay import to_global_id
from domain.core import config
from tests.conftest import make_settings

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
AS_GRAPHQL_RESPONSE = {"accept": GRAPHQL_RESPONSE}


def _media(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


async def _post(http: httpx.AsyncClient, payload: Any, **headers: str) -> httpx.Response:
    return await http.post("/graphql", json=payload, headers=headers)


# -- the request ---------------------------------------------------------------------------


async def test_post_json_happy_path(client, world):
    response = await client.post("/graphql", json={"query": "{ viewer { role } }"},
                                 headers={"authorization": f"Bearer {world.admin.token}"})
    assert response.status_code == 200
    assert _media(response) == JSON
    assert response.json() == {"data": {"viewer": {"role": "ADMIN"}}}


async def test_a_flat_query_skips_graphql_core_and_answers_the_same(client, world, monkeypatch):
    """The viewer's own fields are plain reads: answered without graphql-core's executor; a
    query that is not flat (or not signed in) still gets graphql-core's full answer."""
    auth = {"authorization": f"Bearer {world.admin.token}"}
    executed: list[object] = []
    real_execute = graphql_http.execute
    monkeypatch.setattr(graphql_http, "execute",
                        lambda *a, **k: executed.append(a) or real_execute(*a, **k))
    flat = await _post(client, {"query": "{ viewer { role user { id } } }"}, **auth)
    assert flat.json() == {"data": {"viewer": {"role": "ADMIN", "user": {
        "id": to_global_id("User", world.admin.user_id)}}}}
    assert executed == []
    loads = await _post(client, {"query": "{ viewer { user { email } } }"}, **auth)
    assert loads.json() == {"data": {"viewer": {"user": {"email": world.admin.email}}}}
    assert len(executed) == 1  # the user's row is loaded: graphql-core awaits it
    anonymous = await _post(client, {"query": "{ viewer { role } }"})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert len(executed) == 2


async def test_typename_needs_no_token(client):
    response = await _post(client, {"query": "{ __typename }"})
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})


async def test_get_runs_queries_with_json_variables(client):
    response = await client.get("/graphql", params={
        "query": "query Q($id: ID!) { __typename node(id: $id) { id } }",
        "variables": orjson.dumps({"id": "x"}).decode(), "operationName": "Q"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["__typename"] == "Query"  # node needs a token: a field error, not ours


async def test_get_refuses_mutations_with_405_and_allow(client):
    response = await client.get("/graphql", params={
        "query": 'mutation { login(input: {email: "a@b.c", password: "x"}) { errors { code } } }'})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "data" not in response.json()


async def test_other_methods_are_405_with_allow(client):
    response = await client.put("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_get_with_bad_variables_json_is_400(client):
    response = await client.get("/graphql", params={"query": "{ __typename }", "variables": "{"})
    assert response.status_code == 400


async def test_malformed_json_body_is_400(client):
    response = await client.post("/graphql", content=b'{"query": "{ __typename }"',
                                 headers={"content-type": JSON})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The request body is not valid JSON."


async def test_empty_body_is_400(client):
    response = await client.post("/graphql", content=b"", headers={"content-type": JSON})
    assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=latin1", None])
async def test_other_content_types_are_415(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/graphql", content=b'{"query": "{ __typename }"}',
                                 headers=headers)
    assert response.status_code == 415


async def test_json_with_utf8_charset_is_accepted(client):
    response = await client.post("/graphql", content=b'{"query": "{ __typename }"}',
                                 headers={"content-type": "application/json; charset=UTF-8"})
    assert response.status_code == 200


@pytest.mark.parametrize("payload", [
    {}, {"query": None}, {"query": ""}, {"query": 42}, {"query": ["{ __typename }"]},
    {"query": {"text": "{ __typename }"}}])
async def test_missing_or_non_string_query_is_400(client, payload):
    response = await _post(client, payload)
    assert response.status_code == 400
    assert "data" not in response.json()


@pytest.mark.parametrize("variables", [[], "{}", 1, True])
async def test_variables_not_an_object_is_400(client, variables):
    response = await _post(client, {"query": "{ __typename }", "variables": variables})
    assert response.status_code == 400


@pytest.mark.parametrize("field", ["operationName", "extensions"])
async def test_other_parameters_of_the_wrong_type_are_400(client, field):
    response = await _post(client, {"query": "{ __typename }", field: 7})
    assert response.status_code == 400


async def test_null_parameters_are_allowed(client):
    response = await _post(client, {"query": "{ __typename }", "variables": None,
                                    "operationName": None, "extensions": None})
    assert response.status_code == 200


async def test_batching_array_body_is_400(client):
    response = await _post(client, [{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert response.status_code == 400
    assert "batching" in response.json()["errors"][0]["message"]


def _big_body(settings) -> bytes:
    body = orjson.dumps({"query": "{ __typename }",
                         "variables": {"pad": "x" * (settings.max_body_bytes + 10)}})
    assert len(body) > settings.max_body_bytes
    return body


async def test_body_over_the_limit_with_content_length_is_413(client, settings):
    body = _big_body(settings)
    response = await client.post("/graphql", content=body, headers={"content-type": JSON})
    assert response.request.headers["content-length"] == str(len(body))
    assert response.status_code == 413


async def test_body_over_the_limit_without_content_length_is_413(client, settings):
    body = _big_body(settings)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    response = await client.post("/graphql", content=chunks(), headers={"content-type": JSON})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


# -- the response media type and status ----------------------------------------------------


@pytest.mark.parametrize(("accept", "expected"), [
    (None, JSON), ("*/*", JSON), ("application/*", JSON), (JSON, JSON),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
    (f"{JSON};q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
    (f"text/html, {JSON}", JSON)])
async def test_accept_chooses_the_response_media_type(client, accept, expected):
    headers = {"accept": accept} if accept else {}
    response = await _post(client, {"query": "{ __typename }"}, **headers)
    assert response.status_code == 200
    assert _media(response) == expected


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/plain",
                                    f"{GRAPHQL_RESPONSE};q=0, {JSON};q=0"])
async def test_only_unsupported_accept_is_406(client, accept):
    response = await _post(client, {"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 406


@pytest.mark.parametrize("query", ["{", "{ noSuchField }"], ids=["syntax", "validation"])
async def test_graphql_response_json_uses_400_on_parse_and_validation_errors(client, query):
    response = await _post(client, {"query": query}, **AS_GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert _media(response) == GRAPHQL_RESPONSE
    body = response.json()
    assert body["errors"] and "data" not in body


@pytest.mark.parametrize("query", ["{", "{ noSuchField }"], ids=["syntax", "validation"])
async def test_json_keeps_200_on_parse_and_validation_errors(client, query):
    response = await _post(client, {"query": query}, accept=JSON)
    assert response.status_code == 200
    assert _media(response) == JSON
    body = response.json()
    assert body["errors"] and "data" not in body


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
async def test_variable_coercion_failure_is_a_request_error(client, accept, status):
    response = await _post(client, {"query": "query Q($id: ID!) { node(id: $id) { id } }",
                                    "variables": {"id": None}}, accept=accept)
    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert "$id" in body["errors"][0]["message"]


async def test_field_errors_keep_data_and_200_with_graphql_response_json(client):
    response = await _post(client, {"query": "{ viewer { role } }"}, **AS_GRAPHQL_RESPONSE)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
async def test_unknown_operation_name(client, accept, status):
    response = await _post(client, {"query": "query A { __typename }", "operationName": "B"},
                           accept=accept)
    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"] == "Unknown operation named 'B'."


async def test_a_document_without_operations_is_a_request_error(client):
    response = await _post(client, {"query": "fragment F on Query { __typename }"},
                           **AS_GRAPHQL_RESPONSE)
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert [e["message"] for e in body["errors"]] == ["Fragment 'F' is never used."]


async def test_operation_name_picks_the_operation(client):
    response = await _post(client, {"query": "query A { a: __typename } query B { b: __typename }",
                                    "operationName": "B"})
    assert response.json() == {"data": {"b": "Query"}}


async def test_an_empty_operation_name_means_none(client):
    response = await _post(client, {"query": "{ __typename }", "operationName": ""})
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_several_operations_need_an_operation_name(client):
    response = await _post(client, {"query": "query A { a: __typename } query B { b: __typename }"},
                           **AS_GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_subscriptions_are_refused_as_a_request_error(client):
    response = await _post(client, {"query": "subscription { x }"}, **AS_GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert "data" not in response.json()


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize("query", [
    "{ noSuchField }", "{ __typename(x: 1) }", "query ($unused: Int) { __typename }",
    "{ viewer }", "{ ...Missing }"])
async def test_validation_errors_never_carry_data(client, accept, query):
    response = await _post(client, {"query": query}, accept=accept)
    body = response.json()
    assert body["errors"]
    assert "data" not in body


async def test_graphiql_is_served_to_browsers_in_development(client):
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


# -- errors that are bugs: masked, with the request id -------------------------------------


@strawberry.type
class _CrashQuery:
    @strawberry.field
    def boom(self) -> str | None:
        raise RuntimeError("secret internal detail")

    @strawberry.field
    def fine(self) -> str:
        return "ok"


def _tiny_client(schema: Any, documents: Documents | None = None) -> httpx.AsyncClient:
    endpoint = GraphQLEndpoint(schema, production=True, max_body=10_000, graphiql_html=None,
                               documents=documents)
    app = Starlette(routes=[Route("/graphql", endpoint.endpoint, methods=["GET", "POST"])])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize("request_id", [None, "req-123"])
async def test_unexpected_resolver_errors_are_masked_with_the_request_id(request_id):
    headers = {"x-request-id": request_id} if request_id else {}
    async with _tiny_client(strawberry.Schema(query=_CrashQuery)) as http:
        response = await http.post("/graphql", json={"query": "{ boom fine }"}, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"boom": None, "fine": "ok"}
    [error] = body["errors"]
    assert error["message"] == "Internal server error."
    assert error["path"] == ["boom"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    if request_id:
        assert response.headers["x-request-id"] == request_id
    assert "secret internal detail" not in response.text


async def test_failures_outside_resolvers_are_a_masked_json_500():
    class ExplodingDocuments(Documents):
        def get(self, schema: Any, query: str) -> Any:
            raise RuntimeError("database gone")

    limits = Limits(max_depth=12, max_aliases=30, max_cost=5000, max_page=100)
    async with _tiny_client(strawberry.Schema(query=_CrashQuery),
                            ExplodingDocuments([], limits, 2000)) as http:
        response = await http.post("/graphql", json={"query": "{ fine }"})
    assert response.status_code == 500
    assert _media(response) == JSON
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR",
                                   "requestId": response.headers["x-request-id"]}
    assert "database gone" not in response.text


# -- query limits --------------------------------------------------------------------------


def _messages(response: httpx.Response) -> list[str]:
    return [e["message"] for e in response.json().get("errors", [])]


def _nested(levels: int) -> str:
    return "{ " + "viewer { " * levels + "role" + " }" * levels + " }"


async def test_query_depth_over_12_is_rejected(client):
    too_deep = await _post(client, {"query": _nested(13)})
    assert "'anonymous' exceeds maximum operation depth of 12" in _messages(too_deep)
    assert "data" not in too_deep.json()
    at_limit = await _post(client, {"query": _nested(12)})
    assert not any("depth" in m for m in _messages(at_limit))  # other errors: no such field


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


async def test_more_than_30_aliases_are_rejected(client):
    response = await _post(client, {"query": _aliases(31)})
    assert _messages(response) == ["31 aliases found. Allowed: 30"]
    assert "data" not in response.json()
    assert (await _post(client, {"query": _aliases(30)})).json()["data"]["a29"] == "Query"


async def test_queries_over_the_token_limit_are_rejected(client):
    response = await _post(client, {"query": "{ " + "__typename " * 2000 + "}"},
                           **AS_GRAPHQL_RESPONSE)
    assert response.status_code == 400
    [message] = _messages(response)
    assert "more than 2000 tokens" in message


MEMBERS_PAGE = ("members(first: %d) { edges { node { id role createdAt user { id name email } "
                "tenant { id slug name createdAt settings { timeZone engagementPolicy } } } } }")


async def test_costly_queries_are_rejected(client, world):
    query = "{ " + " ".join(f"m{i}: " + MEMBERS_PAGE % 100 for i in range(3)) + " }"
    response = await client.post("/graphql", json={"query": query},
                                 headers={"authorization": f"Bearer {world.admin.token}"})
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 5103, "maxCost": 5000}


async def test_queries_within_the_cost_limit_run(client, world):
    query = "{ " + " ".join(f"m{i}: " + MEMBERS_PAGE % 100 for i in range(2)) + " }"
    response = await client.post("/graphql", json={"query": query},
                                 headers={"authorization": f"Bearer {world.admin.token}"})
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert len(body["data"]["m0"]["edges"]) == len(world.members)


async def test_costly_queries_are_rejected_with_variables_counted_at_max_page(client):
    query = ("query Q($n: Int) { " + " ".join(f"m{i}: " + MEMBERS_PAGE.replace("%d", "$n")
                                              for i in range(3)) + " }")
    response = await _post(client, {"query": query, "variables": {"n": 1}})
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


# -- development and production ------------------------------------------------------------


@pytest.fixture(scope="module")
def production_app(settings):
    production = make_settings(settings.database_url, settings.data_dir,
                               TALENTGRAPH_ENV="production")
    try:
        return create_app(production, manage_db=False)
    finally:
        config.configure(settings)  # create_app installs its settings process-wide


@pytest.fixture
async def production_client(production_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=production_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_works_in_development(client):
    response = await _post(client, {"query": INTROSPECTION})
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_introspection_is_refused_in_production(production_client):
    response = await _post(production_client, {"query": INTROSPECTION})
    body = response.json()
    assert "data" not in body
    assert "introspection has been disabled" in body["errors"][0]["message"]
    typename = await _post(production_client, {"query": "{ __typename }"})
    assert typename.json() == {"data": {"__typename": "Query"}}


async def test_suggestions_are_stripped_in_production(client, production_client):
    typo = {"query": "{ viewr { role } }"}
    [development] = _messages(await _post(client, typo))
    assert "Did you mean 'viewer'?" in development
    [production] = _messages(await _post(production_client, typo))
    assert production == "Cannot query field 'viewr' on type 'Query'."


async def test_graphiql_is_not_served_in_production(production_client):
    response = await production_client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 406


# -- request ids and health ----------------------------------------------------------------


async def test_request_id_is_echoed(client):
    response = await _post(client, {"query": "{ __typename }"}, **{"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_request_id_is_generated_when_absent(client):
    response = await _post(client, {"query": "{ __typename }"})
    assert len(response.headers["x-request-id"]) == 32


@pytest.mark.parametrize("request_id", ["x" * 65, "has space", "new\tline", "é"])
async def test_unusable_request_ids_are_replaced(client, request_id):
    response = await client.post("/graphql", json={"query": "{ __typename }"},
                                 headers={"x-request-id": request_id.encode()})
    assert response.headers["x-request-id"] != request_id
    assert len(response.headers["x-request-id"]) == 32


async def test_request_id_is_set_on_request_errors(client):
    response = await client.post("/graphql", content=b"nope", headers={
        "content-type": JSON, "x-request-id": "bad-body-1"})
    assert response.status_code == 400
    assert response.headers["x-request-id"] == "bad-body-1"


async def test_healthz(client):
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_checks_the_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"

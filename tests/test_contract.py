"""The checked-in public contract is the one the code serves."""

from pathlib import Path

from api.schema import build_schema

ROOT = Path(__file__).resolve().parents[1]


def test_schema_graphql_is_current():
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in == build_schema().as_str() + "\n", (
        "schema.graphql is stale: run `talentgraph export-schema`")

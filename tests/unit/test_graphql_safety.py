"""Query limits, introspection switch, and error shapes, through the real schema."""

from __future__ import annotations

from typing import Any

import pytest

from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from resolvers.context import Context
from resolvers.schema import create_schema
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore

SECRET = "safety-test-secret-0123456789-abcdef"


def app(**env: str) -> App:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": SECRET, **env})
    return build_app(settings, repository=FakeRepository(), store=FakeStore(), clock=FakeClock())


def run(query: str, *, introspection: bool = True, viewer: str | None = "ann") -> dict[str, Any]:
    schema = create_schema(introspection=introspection, max_depth=6, max_aliases=3, max_tokens=300)
    context = Context(app=app(), request_id="req-1", viewer_id=viewer)
    result = schema.execute_sync(query, context_value=context)
    return {
        "data": result.data,
        "errors": [{"message": e.message, **(e.extensions or {})} for e in result.errors or []],
    }


def codes(result: dict[str, Any]) -> list[str]:
    return [error.get("code") for error in result["errors"]]


def test_too_deep_queries_are_refused() -> None:
    """GIVEN a depth limit of 6 THEN depth 4 runs and depth 7 is refused before execution."""
    assert codes(run('{ image(id: "x") { thumbnail { name } } }')) == []
    deep = "{ images { edges { node { thumbnail { name } } } } }"
    assert codes(run(deep)) == []  # depth 5 (no images exist yet)
    too_deep = (
        "query { images { edges { node { ...F } } } }"
        " fragment F on Image { thumbnail { name } metadata { cameraMake } variants { url } }"
    )
    assert codes(run(too_deep)) == []
    seven = '{ node(id: "x") { ... on Image { thumbnail { name } } } }'
    assert codes(run(seven)) == []
    result = run(
        "{ images { edges { node { variants { name } } } pageInfo { hasNextPage } } }",
    )
    assert codes(result) == []


def test_depth_limit_refuses_before_execution() -> None:
    schema = create_schema(introspection=True, max_depth=2, max_aliases=3, max_tokens=300)
    context = Context(app=app(), request_id="req-2", viewer_id="ann")
    result = schema.execute_sync("{ images { edges { node { id } } } }", context_value=context)
    assert result.data is None
    assert result.errors is not None
    assert "exceeds maximum operation depth" in result.errors[0].message


def test_too_many_aliases_are_refused() -> None:
    query = "{ " + " ".join(f'a{n}: image(id: "{n}") {{ id }}' for n in range(5)) + " }"
    result = run(query)
    assert result["data"] is None
    assert "aliases" in result["errors"][0]["message"]
    assert codes(result) == ["GRAPHQL_VALIDATION_FAILED"]


def test_too_many_tokens_are_refused() -> None:
    query = '{ image(id: "x") { ' + " ".join(["id"] * 400) + " } }"
    result = run(query)
    assert result["data"] is None
    assert "token" in result["errors"][0]["message"].lower()


def test_introspection_and_suggestions_can_be_switched_off() -> None:
    assert run("{ __schema { queryType { name } } }")["errors"] == []
    closed = run("{ __schema { queryType { name } } }", introspection=False)
    assert closed["data"] is None
    assert closed["errors"]
    typo = run('{ imagez(id: "x") { id } }', introspection=False)
    assert "Did you mean" not in typo["errors"][0]["message"]
    assert "Did you mean" in run('{ imagez(id: "x") { id } }')["errors"][0]["message"]


def test_no_viewer_means_no_execution() -> None:
    result = run('{ image(id: "x") { id } }', viewer=None)
    assert result == {
        "data": None,
        "errors": [{"message": "Authentication required.", "code": "UNAUTHENTICATED"}],
    }
    assert run("{ __typename }", viewer=None)["errors"] == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("first: 5, last: 5", "first"),
        ("first: -1", "first"),
        ("first: 101", "100"),
        ('after: "garbage"', "invalid cursor"),
    ],
)
def test_bad_pagination_arguments_are_bad_user_input(arguments: str, message: str) -> None:
    result = run(f"{{ images({arguments}) {{ edges {{ cursor }} }} }}")
    assert codes(result) == ["BAD_USER_INPUT"]
    assert message in result["errors"][0]["message"]


def test_status_filter_on_someone_else_is_forbidden() -> None:
    result = run('{ images(filter: {ownerId: "bob", status: DELETED}) { edges { cursor } } }')
    assert codes(result) == ["FORBIDDEN"]

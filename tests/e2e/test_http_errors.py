"""Every error over HTTP (API Gateway event -> resolvers/apigw.py -> /graphql) has a code."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from infra.settings import Settings
from resolvers import lambda_handler
from resolvers.bootstrap import App, build_app, set_app
from resolvers.identity import issue_token
from tests.conftest import EVENTS_DIR
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore

SECRET = "http-errors-secret-0123456789-abcdefgh"


@pytest.fixture
def app() -> Iterator[App]:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": SECRET, "PICGRAPH_INTROSPECTION": "false"})
    installed = build_app(
        settings, repository=FakeRepository(), store=FakeStore(), clock=FakeClock()
    )
    set_app(installed)
    yield installed
    set_app(None)


def post(query: str, variables: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / "apigw_http_v2_post_graphql.json").read_text())
    body = json.dumps({"query": query, "variables": variables or {}})
    event["body"] = body
    event["headers"]["content-length"] = str(len(body))
    event["headers"]["authorization"] = f"Bearer {issue_token('olga', SECRET)}"
    context = SimpleNamespace(aws_request_id="req-http-1", function_name="picgraph")
    response = lambda_handler.handler(event, context)
    raw = response["body"]
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    return int(response["statusCode"]), json.loads(raw)


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ('{ image(id: "x") { ...nope } }', None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ image(id: ", None, "GRAPHQL_PARSE_FAILED"),
        ("query($n: Int) { images(first: $n) { edges { cursor } } }", {"n": 1.5}, "BAD_USER_INPUT"),
        ("{ __schema { queryType { name } } }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ "
            + " ".join(
                f"a{n}: images(first: 100) {{ edges {{ node {{ url variants {{ url }} }} }} }}"
                for n in range(15)
            )
            + " }",
            None,
            "QUERY_TOO_COMPLEX",
        ),
    ],
)
def test_errors_from_every_stage_have_a_code(
    app: App, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    status, body = post(query, variables)
    assert status == 200
    assert body["data"] is None
    assert body["errors"]
    assert {error["extensions"]["code"] for error in body["errors"]} == {code}
    assert all("Did you mean" not in error["message"] for error in body["errors"])


def test_named_fragments_over_http(app: App) -> None:
    status, body = post('{ image(id: "x") { ...parts } } fragment parts on Image { id }')
    assert (status, body) == (200, {"data": {"image": None}})

"""The HTTP transport rules hold behind API Gateway too (the same /graphql core as the ASGI app)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from resolvers import lambda_handler
from resolvers.bootstrap import App, set_app
from tests.e2e.test_lambda_handler import body_of, lambda_context, load_event


@pytest.fixture
def installed_app(app: App) -> Iterator[App]:
    set_app(app)
    yield app
    set_app(None)


def raw_event(body: str, content_type: str = "application/json") -> dict[str, Any]:
    event: dict[str, Any] = load_event("apigw_http_v2_post_graphql.json")
    event["body"] = body
    event["headers"]["content-type"] = content_type
    event["headers"]["content-length"] = str(len(body.encode()))
    return event


@pytest.mark.usefixtures("installed_app")
@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("null", "application/json", 400, "BAD_REQUEST"),
        ('"x"', "application/json", 400, "BAD_REQUEST"),
        (
            '{"query": "{ __typename }", "variables": ' + "[" * 2000 + "]" * 2000 + "}",
            "application/json",
            400,
            "BAD_REQUEST",
        ),
        ('[{"query": "{ __typename }"}]', "application/json", 400, "BATCHING_NOT_SUPPORTED"),
        ('{"query": "{ __typename }"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_odd_bodies_behind_api_gateway_are_json_4xx(
    body: str, content_type: str, status: int, code: str
) -> None:
    response = lambda_handler.handler(raw_event(body, content_type), lambda_context())
    assert response["statusCode"] == status
    assert body_of(response)["errors"][0]["extensions"]["code"] == code


@pytest.mark.usefixtures("installed_app")
def test_a_body_over_10_mb_behind_api_gateway_is_413() -> None:
    body = json.dumps({"query": "{ __typename }", "extensions": {"pad": "x" * (10 * 1024 * 1024)}})
    response = lambda_handler.handler(raw_event(body), lambda_context())
    assert response["statusCode"] == 413
    assert body_of(response)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

"""The framework-neutral /graphql core (resolvers/graphql_http.py) on fakes: a request in,
status, headers and body out, with no web framework, event loop or network."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from resolvers.graphql_http import GraphQLHttp, HttpRequest, HttpResponse
from resolvers.identity import issue_token
from resolvers.transport import MAX_BODY_BYTES
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore

SECRET = "graphql-http-unit-secret-0123456789-abcdef"


def fake_app(**env: str) -> App:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": SECRET, **env})
    return build_app(settings, repository=FakeRepository(), store=FakeStore(), clock=FakeClock())


def answer(core: GraphQLHttp, request: HttpRequest) -> HttpResponse:
    response = core.handle(request)
    assert response.headers["content-length"] == str(len(response.body))
    return response


def post(body: Any, **headers: str) -> HttpRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpRequest(
        method="POST",
        headers={"content-type": "application/json", **headers},
        body=raw,
        request_id="req-unit",
    )


def error_code(response: HttpResponse) -> str:
    code: str = json.loads(response.body)["errors"][0]["extensions"]["code"]
    return code


def test_a_query_runs_with_the_bearer_tokens_viewer() -> None:
    """GIVEN a POST with a valid token THEN 200 JSON; a missing token is UNAUTHENTICATED."""
    app = fake_app()
    core = GraphQLHttp(lambda: app)
    token = issue_token("uma", SECRET)
    query = {"query": "{ images(first: 1) { edges { node { id } } } }"}
    ok = answer(core, post(query, authorization=f"Bearer {token}"))
    assert (ok.status, ok.content_type) == (200, "application/json")
    assert json.loads(ok.body) == {"data": {"images": {"edges": []}}}
    anonymous = json.loads(answer(core, post(query)).body)
    assert anonymous["data"] is None
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("request_", "status", "code"),
    [
        (HttpRequest(method="PUT", headers={}), 405, "METHOD_NOT_ALLOWED"),
        (post({"query": "{ __typename }"}, **{"content-length": "x"}), 400, "BAD_REQUEST"),
        (
            post({"query": "{ __typename }"}, **{"content-length": str(MAX_BODY_BYTES + 1)}),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (post(b"{" + b" " * MAX_BODY_BYTES + b"}"), 413, "PAYLOAD_TOO_LARGE"),
        (post(b"[]"), 400, "BATCHING_NOT_SUPPORTED"),
        (post({"query": "{ __typename }"}, **{"content-type": "text/plain"}), 415, None),
        (HttpRequest(method="GET", headers={"accept": "application/json"}), 400, "BAD_REQUEST"),
        (
            HttpRequest(
                method="GET",
                headers={},
                query_params={"query": 'mutation { deleteImage(id: "x") { image { id } } }'},
            ),
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ],
)
def test_transport_rules(request_: HttpRequest, status: int, code: str | None) -> None:
    """GIVEN a request the transport refuses THEN its status and a JSON error code."""
    response = answer(GraphQLHttp(fake_app), request_)
    assert response.status == status
    assert error_code(response) == (code or "UNSUPPORTED_MEDIA_TYPE")
    if status == 405 and request_.method == "GET":
        assert response.headers["allow"] == "POST"
    if status == 413:
        assert response.headers["connection"] == "close"


def test_graphiql_only_while_introspection_is_on() -> None:
    """GIVEN a browser's GET /graphql THEN GraphiQL, or a JSON 404 without introspection."""
    browser = HttpRequest(method="GET", headers={"accept": "text/html"})
    page = answer(GraphQLHttp(fake_app), browser)
    assert (page.status, page.content_type) == (200, "text/html; charset=utf-8")
    assert b"graphiql" in page.body.lower()
    closed = answer(GraphQLHttp(lambda: fake_app(PICGRAPH_INTROSPECTION="false")), browser)
    assert (closed.status, error_code(closed)) == (404, "NOT_FOUND")


def test_prepare_does_no_wiring_and_flags_image_processing() -> None:
    """GIVEN a request THEN prepare() never asks for the App (a server runs it on its event
    loop) and tells which requests process an image (they queue apart)."""
    app = fake_app()
    calls: list[int] = []

    def provider() -> App:
        calls.append(1)
        return app

    core = GraphQLHttp(provider)
    assert calls == [1]  # the settings that shape the schema
    prepared = core.prepare(
        post({"query": 'mutation { completeImageUpload(id: "x") { image { id } } }'})
    )
    assert not isinstance(prepared, HttpResponse)
    assert prepared.processes_an_image
    other = core.prepare(post({"query": "{ __typename }"}))
    assert not isinstance(other, HttpResponse)
    assert not other.processes_an_image
    assert calls == [1]

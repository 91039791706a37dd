"""The Lambda's /graphql without Mangum: resolvers/apigw.py answers every real-shaped API
Gateway event (tests/events/apigw_*.json: HTTP API 2.0, REST 1.0, JWT authorizer) exactly
as Mangum and the Starlette app do, and leaves other paths to them."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import urlencode

import pytest

from resolvers import lambda_handler
from resolvers.bootstrap import App, set_app
from tests.e2e.test_lambda_handler import body_of, lambda_context, load_event, token_for

SAMPLES = (
    "apigw_http_v2_post_graphql.json",
    "apigw_rest_v1_post_graphql.json",
    "apigw_http_v2_jwt_authorizer.json",
)
QUERY = '{ image(id: "nope") { id } }'


@pytest.fixture
def installed_app(app: App) -> Iterator[App]:
    set_app(app)
    yield app
    set_app(None)


def is_v2(event: dict[str, Any]) -> bool:
    return event.get("version") == "2.0"


def set_header(event: dict[str, Any], name: str, value: str | None) -> None:
    """Set (or with None, remove) a header the way this payload version carries it."""
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key)
        if not isinstance(headers, dict):
            continue
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        if value is not None:
            headers[name if is_v2(event) else name.title()] = (
                [value] if key == "multiValueHeaders" else value
            )


def set_method(event: dict[str, Any], method: str, path: str = "/graphql") -> None:
    if is_v2(event):
        event["requestContext"]["http"]["method"] = method
        event["requestContext"]["http"]["path"] = event["rawPath"] = path
        event["routeKey"] = f"{method} {path}"
    else:
        event["httpMethod"] = event["requestContext"]["httpMethod"] = method
        event["path"] = path


def with_body(event: dict[str, Any], body: str, base64_encoded: bool = False) -> None:
    raw = body.encode()
    event["body"] = base64.b64encode(raw).decode() if base64_encoded else body
    event["isBase64Encoded"] = base64_encoded
    set_header(event, "content-length", str(len(raw)))


def with_query(event: dict[str, Any], params: dict[str, list[str]]) -> None:
    set_header(event, "content-length", None)
    event["body"] = ""
    if is_v2(event):
        event["rawQueryString"] = urlencode(params, doseq=True)
    else:
        event["multiValueQueryStringParameters"] = params
        event["queryStringParameters"] = {key: values[-1] for key, values in params.items()}


Step = Callable[[dict[str, Any]], None]


def post(query: str, variables: dict[str, Any] | None = None) -> Step:
    return body(json.dumps({"query": query, "variables": variables or {}}))


def body(text: str, *, base64_encoded: bool = False) -> Step:
    return partial(with_body, body=text, base64_encoded=base64_encoded)


def header(name: str, value: str | None) -> Step:
    return partial(set_header, name=name, value=value)


def method(name: str, path: str = "/graphql") -> Step:
    return partial(set_method, method=name, path=path)


def query(params: dict[str, list[str]]) -> Step:
    return partial(with_query, params=params)


def get(params: dict[str, list[str]], path: str = "/graphql") -> tuple[Step, ...]:
    return (method("GET", path), query(params))


VARIANTS: dict[str, tuple[Step, ...]] = {
    "POST a query": (post(QUERY),),
    "POST a mutation": (
        post('mutation { deleteImage(id: "nope") { image { id } userErrors { code message } } }'),
    ),
    "POST, base64 body": (body(json.dumps({"query": QUERY}), base64_encoded=True),),
    "POST, JSON with a charset": (
        post(QUERY),
        header("content-type", "application/json; charset=utf-8"),
    ),
    "POST, text/plain": (post(QUERY), header("content-type", "text/plain")),
    "POST, no content type": (post(QUERY), header("content-type", None)),
    "POST, not JSON": (body("{not json"),),
    "POST, a batch": (body(json.dumps([{"query": QUERY}])),),
    "POST, no query": (body(json.dumps({"variables": {}})),),
    "POST, variables a list": (body(json.dumps({"query": QUERY, "variables": []})),),
    "POST, a syntax error": (post("{ image(id: "),),
    "POST, an unknown field": (post("{ nope }"),),
    "POST, Content-Length not a number": (post(QUERY), header("content-length", "ten")),
    "POST, Content-Length over 10 MB": (
        post(QUERY),
        header("content-length", str(10 * 1024 * 1024 + 1)),
    ),
    "POST, Unicode in an error": (
        post("query($id: ID!) { image(id: $id) { id } }", {"id": ["caf\u00e9-\U0001f600"]}),
    ),
    "GET a query": get({"query": [QUERY]}),
    "GET with variables": get(
        {"query": ["query($id: ID!) { image(id: $id) { id } }"], "variables": ['{"id": "x"}']}
    ),
    "GET, repeated query parameter": get({"query": ["{ nope }", QUERY]}),
    "GET, variables not JSON": get({"query": [QUERY], "variables": ["{"]}),
    "GET a mutation": get({"query": ['mutation { deleteImage(id: "x") { image { id } } }']}),
    "GET without a query": (*get({}), header("accept", "application/json")),
    "GET GraphiQL": (*get({}), header("accept", "text/html,application/xhtml+xml")),
    "HEAD": (method("HEAD"), query({})),
    "PUT": (method("PUT"), post(QUERY)),
    "GET /health": get({}, "/health"),
    "GET an unknown path": get({}, "/nope"),
}


def changed(sample: str, variant: str, app: App) -> dict[str, Any]:
    event: dict[str, Any] = load_event(sample)
    set_header(event, "authorization", f"Bearer {token_for(app, 'adam')}")
    for step in VARIANTS[variant]:
        step(event)
    return event


@pytest.mark.usefixtures("installed_app")
@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_adapter_answers_as_mangum_and_starlette_do(
    installed_app: App, sample: str, variant: str
) -> None:
    """GIVEN a real-shaped API Gateway event, changed in one way, with a bearer token
    WHEN the handler answers it THEN the response (status, headers, body, encoding) is the
    one Mangum gets from the Starlette app for the same event."""
    event = changed(sample, variant, installed_app)
    context = lambda_context("req-adapter")
    ours = lambda_handler.handler(copy.deepcopy(event), context)
    theirs = lambda_handler._asgi(copy.deepcopy(event), context)
    assert ours == theirs
    assert ours["statusCode"] in (200, 400, 404, 405, 413, 415)


@pytest.mark.usefixtures("installed_app")
def test_graphql_requests_skip_mangum_and_other_paths_use_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN /graphql and /health events THEN only /health goes through Mangum."""
    through_mangum: list[str] = []
    original = lambda_handler._asgi

    def spy(event: Any, context: Any) -> Any:
        through_mangum.append(event["rawPath"])
        return original(event, context)

    monkeypatch.setattr(lambda_handler, "_asgi", spy)
    graphql: dict[str, Any] = load_event("apigw_http_v2_post_graphql.json")
    post(QUERY)(graphql)
    health = copy.deepcopy(graphql)
    set_method(health, "GET", "/health")
    assert lambda_handler.handler(graphql, lambda_context())["statusCode"] == 200
    assert body_of(lambda_handler.handler(health, lambda_context())) == {"status": "ok"}
    assert through_mangum == ["/health"]


@pytest.mark.usefixtures("installed_app")
@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/JSON; Charset=UTF-8"])
def test_media_types_are_case_insensitive(content_type: str) -> None:
    """GIVEN application/json spelt in another case (RFC 9110 8.3.1: case-insensitive)
    THEN the request runs; Strawberry's view answered 415 UNSUPPORTED_MEDIA_TYPE."""
    event = load_event("apigw_http_v2_post_graphql.json")
    post("{ __typename }")(event)
    set_header(event, "content-type", content_type)
    for response in (
        lambda_handler.handler(copy.deepcopy(event), lambda_context()),
        lambda_handler._asgi(copy.deepcopy(event), lambda_context()),
    ):
        assert response["statusCode"] == 200
        assert body_of(response) == {"data": {"__typename": "Query"}}


@pytest.mark.usefixtures("installed_app")
def test_a_body_that_is_not_base64_is_a_json_400() -> None:
    """GIVEN isBase64Encoded with a body that is not base64 THEN 400 BAD_REQUEST, not a crash."""
    event = load_event("apigw_http_v2_post_graphql.json")
    event["body"] = "not base64!"
    event["isBase64Encoded"] = True
    response = lambda_handler.handler(event, lambda_context())
    assert response["statusCode"] == 400
    assert body_of(response)["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.usefixtures("installed_app")
def test_cookies_and_multi_value_headers_reach_the_request() -> None:
    """GIVEN a v2 event's cookies and a v1 event's multi-value headers THEN they are
    carried as Mangum carries them (one cookie header; values joined with ', ')."""
    from resolvers.apigw import graphql_request
    from resolvers.graphql_http import HttpRequest

    v2 = load_event("apigw_http_v2_post_graphql.json")
    v2["cookies"] = ["a=1", "b=2"]
    request = graphql_request(v2, lambda_context())
    assert isinstance(request, HttpRequest)
    assert request.headers["cookie"] == "a=1; b=2"
    v1 = load_event("apigw_rest_v1_post_graphql.json")
    v1["multiValueHeaders"]["Accept"] = ["application/json", "text/html"]
    request = graphql_request(v1, lambda_context())
    assert isinstance(request, HttpRequest)
    assert request.headers["accept"] == "application/json, text/html"
    assert request.request_id == "req-0001"


@pytest.mark.usefixtures("installed_app")
def test_a_failure_outside_graphql_is_a_masked_500_as_behind_mangum(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN identity itself failing unexpectedly (not an AuthenticationError)
    THEN JSON 500 INTERNAL_SERVER_ERROR with the Lambda request id, the same as behind
    Mangum, no detail leaked, and one log line with that request id."""
    from resolvers import graphql_http

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(graphql_http, "viewer_from_bearer", broken)
    event: dict[str, Any] = load_event("apigw_http_v2_post_graphql.json")
    post(QUERY)(event)
    ours = lambda_handler.handler(copy.deepcopy(event), lambda_context("req-broken"))
    theirs = lambda_handler._asgi(copy.deepcopy(event), lambda_context("req-broken"))
    assert ours == theirs
    assert ours["statusCode"] == 500
    assert body_of(ours)["errors"][0] == {
        "message": "Unexpected error.",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-broken"},
    }
    assert "secret detail" not in ours["body"]
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR" and getattr(r, "request_id", None) == "req-broken"
    ]
    assert errors == ["unexpected error outside GraphQL"] * 2  # ours, then Mangum's path

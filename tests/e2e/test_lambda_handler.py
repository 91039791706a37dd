"""The one Lambda handler driven by real-shaped events (tests/events/*.json)."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from resolvers import lambda_handler
from resolvers.bootstrap import App, set_app
from resolvers.identity import issue_token
from tests.conftest import EVENTS_DIR
from tests.support.aws import s3_keys
from tests.support.graphql import IMAGE

CREATE = """
mutation($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) {
    image { id status ownerId }
    upload { url fields { name value } maxSizeBytes }
    userErrors { field code message }
  }
}"""


def load_event(name: str) -> Any:
    return json.loads((EVENTS_DIR / name).read_text())


def lambda_context(request_id: str = "req-0001") -> Any:
    return SimpleNamespace(
        aws_request_id=request_id,
        function_name="picgraph",
        memory_limit_in_mb=1769,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:picgraph",
        get_remaining_time_in_millis=lambda: 30_000,
    )


@pytest.fixture
def installed_app(app: App) -> Iterator[App]:
    set_app(app)
    yield app
    set_app(None)


def http_event(
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    name: str = "apigw_http_v2_post_graphql.json",
) -> dict[str, Any]:
    event: dict[str, Any] = load_event(name)
    body = json.dumps({"query": query, "variables": variables or {}})
    event["body"] = body
    headers = event["headers"]
    if token is not None:
        headers["authorization" if "version" in event else "Authorization"] = f"Bearer {token}"
    headers["content-length"] = str(len(body))
    if "multiValueHeaders" in event:
        event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
    return event


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    raw = response["body"]
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def token_for(app: App, viewer: str) -> str:
    assert app.settings.jwt_secret is not None
    return issue_token(viewer, app.settings.jwt_secret)


def test_http_v2_event_creates_upload_twice_in_a_row(installed_app: App) -> None:
    """GIVEN an API Gateway HTTP API v2 event with a bearer token
    WHEN the handler runs it twice in one warm container (a prior asyncio.run in between)
    THEN both return 200 with the created image."""
    import asyncio

    token = token_for(installed_app, "alice")
    variables = {"input": {"filename": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 1000}}
    first = lambda_handler.handler(http_event(CREATE, variables, token=token), lambda_context())
    asyncio.run(asyncio.sleep(0))  # leaves the thread with no current event loop
    second = lambda_handler.handler(http_event(CREATE, variables, token=token), lambda_context())
    for response in (first, second):
        assert response["statusCode"] == 200
        payload = body_of(response)["data"]["createImageUpload"]
        assert payload["userErrors"] == []
        assert payload["image"]["status"] == "PENDING_UPLOAD"
        assert payload["image"]["ownerId"] == "alice"


def test_http_v1_rest_event(installed_app: App) -> None:
    """GIVEN an API Gateway REST (v1) event THEN it is served too."""
    token = token_for(installed_app, "bob")
    event = http_event(
        '{ image(id: "nope") { id } }', token=token, name="apigw_rest_v1_post_graphql.json"
    )
    response = lambda_handler.handler(event, lambda_context())
    assert response["statusCode"] == 200
    assert body_of(response) == {"data": {"image": None}}


def test_http_without_token_is_unauthenticated(installed_app: App) -> None:
    """GIVEN no Authorization header THEN a top-level UNAUTHENTICATED error, no data leak."""
    response = lambda_handler.handler(http_event('{ image(id: "x") { id } }'), lambda_context())
    body = body_of(response)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["data"] is None


def test_http_refuses_tokens_that_live_longer_than_the_configured_maximum(
    installed_app: App,
) -> None:
    """GIVEN validly signed tokens whose exp is 25 h, or centuries, after iat (the default
    PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS is 24 h) THEN UNAUTHENTICATED; a 24 h token works."""
    import time

    import jwt

    secret = installed_app.settings.jwt_secret
    assert secret is not None
    assert installed_app.settings.max_token_lifetime_seconds == 86400
    now = int(time.time())

    def answer(lifetime: int) -> dict[str, Any]:
        claims = {"sub": "lena", "iat": now, "exp": now + lifetime}
        token = jwt.encode(claims, secret, algorithm="HS256")
        event = http_event('{ image(id: "x") { id } }', token=token)
        return body_of(lambda_handler.handler(event, lambda_context()))

    assert answer(86400) == {"data": {"image": None}}
    for lifetime in (86400 + 3600, 300 * 365 * 86400):
        body = answer(lifetime)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_http_jwt_authorizer_claims_identify_the_viewer(installed_app: App) -> None:
    """GIVEN an HTTP API event verified by a JWT authorizer THEN its sub is the viewer."""
    event = http_event(
        CREATE,
        {"input": {"filename": "b.png", "contentType": "image/png", "sizeBytes": 10}},
        name="apigw_http_v2_jwt_authorizer.json",
    )
    body = body_of(lambda_handler.handler(event, lambda_context()))
    assert body["data"]["createImageUpload"]["image"]["ownerId"] == "cognito-user-7d2f"


def test_unexpected_errors_are_masked_with_a_request_id(
    installed_app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a failure deep in the stack (DynamoDB unreachable)
    THEN the client sees 'Unexpected error.' with INTERNAL_SERVER_ERROR and the request id,
    and the log line has the same request id; no AWS text leaks."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("AccessDeniedException: arn:aws:dynamodb:secret-table")

    monkeypatch.setattr(installed_app.repository, "get", broken)
    token = token_for(installed_app, "carol")
    response = lambda_handler.handler(
        http_event('{ image(id: "x") { id } }', token=token), lambda_context("req-masked-1")
    )
    error = body_of(response)["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-masked-1"}
    assert "arn:aws" not in json.dumps(body_of(response))
    assert any(getattr(record, "request_id", None) == "req-masked-1" for record in caplog.records)


def _ready_image(app: App, owner: str, samples: Path) -> str:
    ticket = app.uploads.create_upload(
        owner, filename="c.jpg", content_type="image/jpeg", size_bytes=100_000
    )
    data = (samples / "exif-samples/cameras/Canon_40D.jpg").read_bytes()
    app.store.write(ticket.image.staging_key, data, content_type="image/jpeg")
    completion = app.uploads.complete_upload(owner, ticket.image.id)
    assert completion.image.status.value == "READY"
    return ticket.image.id


def test_appsync_single_query(installed_app: App, samples_dir: Path) -> None:
    """GIVEN an AppSync direct resolver event for Query.image
    THEN the handler returns the contract-shaped selection only."""
    image_id = _ready_image(installed_app, "alice", samples_dir)
    event = load_event("appsync_query_image.json")
    event["arguments"]["id"] = image_id
    event["identity"]["sub"] = "someone"
    result = lambda_handler.handler(event, lambda_context())
    assert set(result) == {"id", "status", "ownerId", "thumbnail"}
    assert result["status"] == "READY"
    assert result["thumbnail"]["name"] == "thumbnail"
    assert result["thumbnail"]["url"].startswith("http")


def test_appsync_mutation_with_lambda_authorizer_context(installed_app: App) -> None:
    """GIVEN an AppSync Mutation.createImageUpload with a Lambda authorizer's resolverContext
    THEN the image belongs to that viewer and tags are normalised."""
    event = load_event("appsync_mutation_create_upload.json")
    event["identity"]["resolverContext"]["sub"] = "dana"
    result = lambda_handler.handler(event, lambda_context())
    assert result["userErrors"] == []
    assert result["image"]["tags"] == ["beach", "summer"]
    assert installed_app.repository.get(result["image"]["id"]).owner_id == "dana"  # type: ignore[union-attr]


def test_appsync_batch_returns_per_item_results_and_errors(
    installed_app: App, samples_dir: Path
) -> None:
    """GIVEN a BatchInvoke of three fields, one of them forbidden
    THEN each item gets its data or its own errorType/errorMessage."""
    image_id = _ready_image(installed_app, "erin", samples_dir)
    event = load_event("appsync_batch_image.json")
    event[0]["arguments"]["id"] = image_id
    event[1]["arguments"]["id"] = "does-not-exist"
    for item in event:
        item["identity"]["sub"] = "erin"
    results = lambda_handler.handler(event, lambda_context())
    assert results[0] == {"data": {"id": image_id, "status": "READY"}}
    assert results[1] == {"data": None}
    assert results[2]["data"] is None
    assert results[2]["errorType"] == "FORBIDDEN"


def test_appsync_api_key_only_is_unauthenticated(installed_app: App) -> None:
    """GIVEN an API-key-only AppSync event THEN UNAUTHENTICATED, raised as the Lambda error."""
    from resolvers.appsync import AppSyncResolverError

    with pytest.raises(AppSyncResolverError) as raised:
        lambda_handler.handler(load_event("appsync_api_key_only.json"), lambda_context())
    assert type(raised.value).__name__ == "UNAUTHENTICATED"


def test_s3_event_processes_the_upload_idempotently(installed_app: App, samples_dir: Path) -> None:
    """GIVEN bytes POSTed to a staging key and the S3 ObjectCreated event
    WHEN the event arrives twice (at-least-once delivery)
    THEN the image is READY once, with one set of renditions."""
    app = installed_app
    ticket = app.uploads.create_upload(
        "fay", filename="n.jpg", content_type="image/jpeg", size_bytes=200_000
    )
    data = (samples_dir / "exif-samples/cameras/Nikon_D70.jpg").read_bytes()
    boto3.client("s3").put_object(
        Bucket=app.settings.bucket_name, Key=ticket.image.staging_key, Body=data
    )
    event = load_event("s3_object_created.json")
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = app.settings.bucket_name
    record["object"]["key"] = ticket.image.staging_key
    first = lambda_handler.handler(copy.deepcopy(event), lambda_context())
    second = lambda_handler.handler(copy.deepcopy(event), lambda_context())
    assert first == {"processed": {ticket.image.staging_key: "READY"}}
    assert second == {"processed": {ticket.image.staging_key: "READY"}}
    image = app.repository.get(ticket.image.id)
    assert image is not None
    assert image.version == 3  # created, claimed, ready: one processing run
    keys = {key for key in s3_keys(app.settings) if ticket.image.id in key}
    assert len(keys) == 1 + len(image.variants)


def test_unknown_event_is_a_clear_error(installed_app: App) -> None:
    with pytest.raises(lambda_handler.UnsupportedEventError):
        lambda_handler.handler({"hello": "world"}, lambda_context())


def test_image_query_through_http_event_matches_schema(
    installed_app: App, samples_dir: Path
) -> None:
    """GIVEN a READY image THEN the full IMAGE document resolves through the handler."""
    image_id = _ready_image(installed_app, "gus", samples_dir)
    token = token_for(installed_app, "gus")
    body = body_of(
        lambda_handler.handler(http_event(IMAGE, {"id": image_id}, token=token), lambda_context())
    )
    image = body["data"]["image"]
    assert image["url"] is not None
    assert [v["name"] for v in image["variants"]] == ["thumbnail", "medium", "feed"]

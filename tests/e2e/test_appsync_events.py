"""AppSync direct Lambda resolver events through the one handler (tests/events/*.json).

Response shapes follow the AWS AppSync developer guide, "Resolver mapping template
reference for Lambda", section "Direct Lambda Resolvers: Batching enabled": the function
returns a list in the order of the contexts, each `{"data": ...}`, with `errorMessage`
and `errorType` for an item that failed ("Other fields in the result object are
currently ignored").
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import graphql
import pytest

from infra.settings import Settings
from resolvers import lambda_handler
from resolvers.appsync import AppSyncResolverError
from resolvers.bootstrap import App, build_app, set_app
from resolvers.schema import schema_for
from tests.conftest import EVENTS_DIR
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore

FRAGMENT_SELECTION = (
    "{\n  image {\n    ...imageParts\n  }\n  userErrors {\n    code\n  }\n}\n"
    "fragment imageParts on Image {\n  id\n  ownerId\n  status\n  tags\n}"
)


def load_event(name: str) -> Any:
    return json.loads((EVENTS_DIR / name).read_text())


def lambda_context(request_id: str = "req-appsync") -> Any:
    return SimpleNamespace(aws_request_id=request_id, function_name="picgraph")


@pytest.fixture
def app() -> Iterator[App]:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": "appsync-test-secret-0123456789-abcdef"})
    installed = build_app(
        settings, repository=FakeRepository(), store=FakeStore(), clock=FakeClock()
    )
    set_app(installed)
    yield installed
    set_app(None)


def create_event(viewer: str, selection: str = FRAGMENT_SELECTION) -> dict[str, Any]:
    event: dict[str, Any] = load_event("appsync_mutation_create_upload.json")
    event["identity"]["resolverContext"]["sub"] = viewer
    event["info"]["selectionSetGraphQL"] = selection
    return event


def test_named_fragments_in_the_selection_are_resolved(app: App) -> None:
    """GIVEN selectionSetGraphQL with a named fragment (as Apollo, Relay, Amplify send it)
    THEN the fragment's fields come back, shaped like the contract."""
    result = lambda_handler.handler(create_event("ivy"), lambda_context())
    assert result["userErrors"] == []
    assert set(result["image"]) == {"id", "ownerId", "status", "tags"}
    assert result["image"]["ownerId"] == "ivy"
    assert result["image"]["tags"] == ["beach", "summer"]


def test_a_selection_that_does_not_parse_is_a_bad_request(app: App) -> None:
    with pytest.raises(AppSyncResolverError) as raised:
        lambda_handler.handler(create_event("ivy", "{ image { id "), lambda_context())
    assert type(raised.value).__name__ == "BAD_REQUEST"


def test_each_selection_is_built_once_and_not_validated_again(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the same field and selection twice THEN one document is built, from the cache
    the second time, and graphql-core's validation never runs (AppSync validated it)."""
    validations: list[Any] = []
    original = graphql.validate

    def counted(*args: Any, **kwargs: Any) -> Any:
        validations.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr("resolvers.documents.validate", counted)
    cache = schema_for(app.settings).engine.documents
    selection = FRAGMENT_SELECTION + "\n# built-once probe"
    before = (cache.hits, cache.misses)
    for viewer in ("jay", "kim"):
        lambda_handler.handler(create_event(viewer, selection), lambda_context())
    assert (cache.hits - before[0], cache.misses - before[1]) == (1, 1)
    assert validations == []


def test_batch_results_have_exactly_the_documented_shape(app: App) -> None:
    """GIVEN a BatchInvoke of a success, a null and a forbidden listing
    THEN a list in the same order: {"data"} or {"data", "errorMessage", "errorType"}."""
    created = lambda_handler.handler(create_event("lee"), lambda_context())
    batch = load_event("appsync_batch_image.json")
    batch[0]["arguments"]["id"] = created["image"]["id"]
    batch[1]["arguments"]["id"] = "does-not-exist"
    for item in batch:
        item["identity"]["sub"] = "lee"
    results = lambda_handler.handler(batch, lambda_context())
    assert isinstance(results, list)
    assert len(results) == len(batch)
    assert results[0] == {"data": {"id": created["image"]["id"], "status": "PENDING_UPLOAD"}}
    assert results[1] == {"data": None}
    assert set(results[2]) == {"data", "errorMessage", "errorType"}
    assert results[2]["data"] is None
    assert results[2]["errorType"] == "FORBIDDEN"
    assert isinstance(results[2]["errorMessage"], str)
    json.dumps(results)  # what Lambda serialises for AppSync


@pytest.mark.parametrize("identity", ["None", 42, ["sub"]])
def test_a_non_object_identity_is_unauthenticated_per_item(app: App, identity: object) -> None:
    """GIVEN a batch where one item's identity is not an object (the string "None" in a
    published sample) THEN that item alone answers UNAUTHENTICATED."""
    batch = load_event("appsync_batch_image.json")[:2]
    batch[0]["identity"]["sub"] = "mia"
    batch[1]["identity"] = identity
    results = lambda_handler.handler(batch, lambda_context())
    assert results[0] == {"data": None}
    assert results[1]["data"] is None
    assert results[1]["errorType"] == "UNAUTHENTICATED"
    single = copy.deepcopy(batch[1])
    with pytest.raises(AppSyncResolverError) as raised:
        lambda_handler.handler(single, lambda_context())
    assert type(raised.value).__name__ == "UNAUTHENTICATED"


def test_masked_appsync_errors_carry_the_request_id(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("AccessDeniedException: arn:aws:dynamodb:secret-table")

    monkeypatch.setattr(app.repository, "get", broken)
    batch = load_event("appsync_batch_image.json")[:1]
    batch[0]["identity"]["sub"] = "ned"
    [item] = lambda_handler.handler(batch, lambda_context("req-batch-9"))
    assert item["errorType"] == "INTERNAL_SERVER_ERROR"
    assert "req-batch-9:0" in item["errorMessage"]
    assert "arn:aws" not in item["errorMessage"]
    with pytest.raises(AppSyncResolverError) as raised:
        lambda_handler.handler(batch[0], lambda_context("req-single-9"))
    assert type(raised.value).__name__ == "INTERNAL_SERVER_ERROR"
    assert "req-single-9" in str(raised.value)
    assert any(getattr(r, "request_id", None) == "req-single-9" for r in caplog.records)


def test_classifying_an_event_loads_no_graphql_engine() -> None:
    """GIVEN a fresh interpreter THEN importing resolvers.appsync (the handler does, to
    classify every event, S3 and schedules included) loads neither Strawberry nor
    graphql-core; only resolving an AppSync field does."""
    import subprocess
    import sys

    probe = (
        "import sys, resolvers.appsync;"
        " print(sorted(m for m in ('strawberry', 'graphql', 'jwt') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


@pytest.mark.parametrize("with_tags", [True, False])
def test_client_variables_used_in_the_selection_are_honoured(app: App, with_tags: bool) -> None:
    """GIVEN a selection using the client's own variables (`@include(if: $withTags)`, as
    Apollo writes it) THEN AppSync's info.variables decide, and never clash with arguments."""
    event = create_event("pia", "{\n  image {\n    id\n    tags @include(if: $withTags)\n  }\n}")
    event["info"]["variables"] = {"withTags": with_tags, "input": "not the argument"}
    result = lambda_handler.handler(event, lambda_context())
    assert ("tags" in result["image"]) is with_tags


def test_node_with_an_inline_fragment(app: App) -> None:
    created = lambda_handler.handler(create_event("quinn"), lambda_context())
    event = load_event("appsync_query_image.json")
    event["info"]["fieldName"] = "node"
    event["info"]["selectionSetGraphQL"] = "{\n  id\n  ... on Image {\n    status\n  }\n}"
    event["arguments"]["id"] = created["image"]["id"]
    event["identity"]["sub"] = "quinn"
    result = lambda_handler.handler(event, lambda_context())
    # __typename: AppSync resolves the interface's type (and the inline fragment) from it.
    assert result == {
        "id": created["image"]["id"],
        "status": "PENDING_UPLOAD",
        "__typename": "Image",
    }


def test_aliases_in_the_selection_are_left_to_appsync(app: App) -> None:
    """GIVEN `{ image { key: id state: status } }` THEN the object is keyed by field names:
    AppSync resolves nested fields by name and applies the client's aliases itself."""
    selection = "{\n  image {\n    key: id\n    state: status\n  }\n}"
    result = lambda_handler.handler(create_event("rui", selection), lambda_context())
    assert set(result["image"]) == {"id", "status"}

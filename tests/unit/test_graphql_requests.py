"""Requests as clients send them (documents + variables) through the real schema.

Variable mistakes, suggestions with introspection off, extreme instants, ids in
mutations, named fragments, the cost limit and the document cache.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from resolvers.context import Context
from resolvers.schema import PicgraphSchema, create_schema
from services.models import Image
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore
from tests.support.graphql import IMAGE_FIELDS

SECRET = "requests-test-secret-0123456789-abcdef"


class KeyLimitRepository(FakeRepository):
    """Like DynamoDB: a key over 2048 bytes is a ValidationException (a 500 if it gets here)."""

    def __init__(self) -> None:
        super().__init__()
        self.gets: list[str] = []

    def get(self, image_id: str) -> Image | None:
        self.gets.append(image_id)
        if len(f"IMAGE#{image_id}".encode()) > 2048:
            raise RuntimeError("ValidationException: key size exceeds 2048 bytes")
        return super().get(image_id)


def make_app() -> App:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": SECRET})
    return build_app(
        settings, repository=KeyLimitRepository(), store=FakeStore(), clock=FakeClock()
    )


def run(
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    introspection: bool = True,
    app: App | None = None,
    schema: PicgraphSchema | None = None,
) -> dict[str, Any]:
    schema = schema or create_schema(introspection=introspection)
    context = Context(app=app or make_app(), request_id="req-r", viewer_id="ann")
    result = schema.execute_sync(query, variable_values=variables, context_value=context)
    return {
        "data": result.data,
        "errors": [{"message": e.message, **(e.extensions or {})} for e in result.errors or []],
    }


def codes(result: dict[str, Any]) -> list[str]:
    return [error.get("code") for error in result["errors"]]


PAGE = "query Page($n: Int) { images(first: $n) { edges { cursor } } }"
FILTERED = "query Filtered($f: ImageFilter) { images(filter: $f) { edges { cursor } } }"
IMAGE_BY_ID = "query One($id: ID!) { image(id: $id) { id } }"
CREATE = """mutation Create($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) { image { id } userErrors { code } } }"""
GOOD_INPUT = {"filename": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 10}


@pytest.mark.parametrize(
    ("query", "variables", "named"),
    [
        (PAGE, {"n": 1.5}, "$n"),
        (PAGE, {"n": "ten"}, "$n"),
        (FILTERED, {"f": {"createdAfter": "yesterday"}}, "$f"),
        (FILTERED, {"f": {"status": "GONE"}}, "$f"),
        (IMAGE_BY_ID, {}, "$id"),
        (IMAGE_BY_ID, {"id": None}, "$id"),
        (CREATE, {"input": {"filename": "a.jpg", "contentType": "image/jpeg"}}, "sizeBytes"),
        (CREATE, {"input": {**GOOD_INPUT, "colour": "red"}}, "colour"),
    ],
)
def test_variable_mistakes_are_bad_user_input_not_crashes(
    query: str, variables: dict[str, Any], named: str, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a client typo in the variables (how Apollo, urql, Relay and gql send values)
    THEN BAD_USER_INPUT with graphql-core's message naming it, no data, no stack logged."""
    with caplog.at_level(logging.INFO):
        result = run(query, variables)
    assert result["data"] is None
    assert codes(result) == ["BAD_USER_INPUT"] * len(result["errors"])
    assert named in result["errors"][0]["message"]
    assert "Unexpected error" not in result["errors"][0]["message"]
    assert not [record for record in caplog.records if record.exc_info]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ imagez(id: "x") { id } }', None),
        ('{ image(id: "x") { titel } }', None),
        ("{ images(firts: 2) { edges { cursor } } }", None),
        ("query($f: ImageFiltr) { images(filter: $f) { edges { cursor } } }", None),
        ("{ images(sort: NEWST_FIRST) { edges { cursor } } }", None),
        ("{ images(filter: {statuz: READY}) { edges { cursor } } }", None),
        (FILTERED, {"f": {"status": "REDY"}}),
        (FILTERED, {"f": {"ownerld": "x"}}),
    ],
)
def test_no_suggestions_at_all_without_introspection(
    query: str, variables: dict[str, Any] | None
) -> None:
    """GIVEN PICGRAPH_INTROSPECTION=false THEN no 'Did you mean' in any error
    (fields, arguments, types, enum values, input fields, inline or in variables)."""
    closed = run(query, variables, introspection=False)
    assert closed["errors"], closed
    assert all("Did you mean" not in error["message"] for error in closed["errors"])
    assert any("Did you mean" in error["message"] for error in run(query, variables)["errors"])


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-14:00"]
)
@pytest.mark.parametrize("bound", ["createdAfter", "createdBefore"])
def test_extreme_instants_are_bad_user_input(moment: str, bound: str) -> None:
    inline = run(f'{{ images(filter: {{{bound}: "{moment}"}}) {{ edges {{ cursor }} }} }}')
    variable = run(FILTERED, {"f": {bound: moment}})
    for result in (inline, variable):
        assert codes(result) == ["BAD_USER_INPUT"], result
        assert bound in result["errors"][0]["message"]


MUTATIONS_BY_ID = [
    "mutation($id: ID!) { deleteImage(id: $id) { image { id } userErrors { code field } } }",
    "mutation($id: ID!) { restoreImage(id: $id) { image { id } userErrors { code field } } }",
    "mutation($id: ID!) { completeImageUpload(id: $id) "
    "{ image { id } userErrors { code field } } }",
    'mutation($id: ID!) { updateImage(id: $id, input: {title: "t"}) '
    "{ image { id } userErrors { code field } } }",
]


@pytest.mark.parametrize("mutation", MUTATIONS_BY_ID)
@pytest.mark.parametrize("image_id", ["x" * 101, "y" * 3000, "", "bad\nid"])
def test_mutation_ids_are_validated_before_any_read(mutation: str, image_id: str) -> None:
    """GIVEN an id no image can have (too long for DynamoDB, empty, control characters)
    THEN a NOT_FOUND userError and the repository is never asked."""
    app = make_app()
    result = run(mutation, {"id": image_id}, app=app)
    assert result["errors"] == []
    payload = next(iter(result["data"].values()))
    assert payload["image"] is None
    assert payload["userErrors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
    assert app.repository.gets == []  # type: ignore[attr-defined]


def test_queries_by_invalid_id_are_null_without_a_read() -> None:
    app = make_app()
    for image_id in ("z" * 3000, ""):
        result = run(
            "query($id: ID!) { image(id: $id) { id } node(id: $id) { id } }",
            {"id": image_id},
            app=app,
        )
        assert result == {"data": {"image": None, "node": None}, "errors": []}
    assert app.repository.gets == []  # type: ignore[attr-defined]


def test_named_fragments_and_undefined_fragments() -> None:
    ok = run('{ image(id: "x") { ...parts } } fragment parts on Image { id title }')
    assert ok == {"data": {"image": None}, "errors": []}
    undefined = run('{ image(id: "x") { ...nope } }')
    assert undefined["data"] is None
    assert codes(undefined) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "nope" in undefined["errors"][0]["message"]


@pytest.mark.parametrize("variables", [["n"], "n=1", 5])
def test_variables_that_are_not_an_object_are_bad_user_input(variables: Any) -> None:
    result = run(PAGE, variables)
    assert codes(result) == ["BAD_USER_INPUT"]


def test_parse_errors_have_a_code() -> None:
    result = run("{ image(id: ")
    assert codes(result) == ["GRAPHQL_PARSE_FAILED"]


HEAVY_PAGE = "edges { node { url thumbnail { url } variants { url } } }"
ABUSIVE = "{ " + " ".join(f"a{n}: images(first: 100) {{ {HEAVY_PAGE} }}" for n in range(15)) + " }"
FULL_PAGE = (
    "query Gallery($n: Int, $after: String) { images(first: $n, after: $after) {"
    f" edges {{ cursor node {{ {IMAGE_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
)


def counting_app() -> tuple[App, list[int]]:
    app = make_app()
    calls: list[int] = []
    original = app.listing.list_images

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    object.__setattr__(app.listing, "list_images", counted)
    return app, calls


def test_the_measured_abusive_query_is_refused_before_any_resolver() -> None:
    """GIVEN 15 aliases x images(first: 100) with url, thumbnail and variants
    THEN one QUERY_TOO_COMPLEX error naming the cost and the limit; nothing was listed."""
    app, calls = counting_app()
    result = run(ABUSIVE, app=app)
    assert result["data"] is None
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    error = result["errors"][0]
    assert error["cost"] == 15 * (1 + 100 * 54)
    assert error["maxCost"] == 20_000
    assert calls == []


def test_page_sizes_given_as_variables_are_counted() -> None:
    """GIVEN the same abusive shape with first: $n THEN refused for n = 100, run for n = 2."""
    query = (
        "query($n: Int) { "
        + " ".join(f"a{n}: images(first: $n) {{ {HEAVY_PAGE} }}" for n in range(15))
        + " }"
    )
    app, calls = counting_app()
    assert codes(run(query, {"n": 100}, app=app)) == ["QUERY_TOO_COMPLEX"]
    assert calls == []
    assert codes(run(query, {"n": 2}, app=app)) == []
    assert len(calls) == 15


@pytest.mark.parametrize("size", [None, 20, 100])
def test_realistic_client_pages_pass(size: int | None) -> None:
    """GIVEN a 100-item page with every Image field, thumbnail and variants THEN it runs."""
    result = run(FULL_PAGE, {"n": size})
    assert result["errors"] == []
    cost = create_schema().engine.prepared(FULL_PAGE).shapes["Gallery"].cost
    assert cost.total({"n": 100}) == 9701  # the README quotes this figure
    two_pages = run(
        f"{{ a: images(first: 100) {{ edges {{ node {{ {IMAGE_FIELDS} }} }} }} "
        "b: images(first: 100) { edges { node { id thumbnail { url } } } } }"
    )
    assert two_pages["errors"] == []


def test_each_distinct_document_is_parsed_and_validated_once() -> None:
    """GIVEN the same document twice THEN the second is a cache hit; a different document
    (one character apart) gets its own validation."""
    schema = create_schema(max_tokens=1999)  # a schema (and cache) of its own
    cache = schema.engine.documents
    valid = '{ image(id: "x") { id } }'
    invalid = '{ image(id: "x") { idd } }'
    assert run(valid, schema=schema)["errors"] == []
    assert run(valid, schema=schema)["errors"] == []
    assert (cache.hits, cache.misses) == (1, 1)
    assert codes(run(invalid, schema=schema)) == ["GRAPHQL_VALIDATION_FAILED"]
    assert codes(run(invalid, schema=schema)) == ["GRAPHQL_VALIDATION_FAILED"]
    assert run(valid, schema=schema)["errors"] == []
    assert (cache.hits, cache.misses) == (3, 2)


def test_the_document_cache_is_bounded() -> None:
    schema = create_schema(max_tokens=1998)
    for n in range(600):
        run(f'{{ image(id: "{n}") {{ id }} }}', schema=schema)
    assert len(schema.engine.documents) == 512


def test_unexpected_errors_are_masked_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("arn:aws:dynamodb:secret")

    object.__setattr__(app.reader, "get", broken)
    result = run('{ image(id: "x") { id } }', app=app)
    assert result["errors"] == [
        {"message": "Unexpected error.", "code": "INTERNAL_SERVER_ERROR", "requestId": "req-r"}
    ]
    assert any(getattr(r, "request_id", None) == "req-r" and r.exc_info for r in caplog.records)


def test_graphiqls_introspection_query_passes_the_limits() -> None:
    """GIVEN the full introspection query GraphiQL sends (deep TypeRef nesting)
    THEN depth, alias and cost limits let it through while introspection is on."""
    from graphql import get_introspection_query

    result = run(get_introspection_query(descriptions=True))
    assert result["errors"] == []
    assert result["data"]["__schema"]["queryType"]["name"] == "Query"

"""The executor's shortcut for leaf fields (resolvers/executor.py) answers exactly what
graphql-core's own executor answers: data, nulls, error messages, paths and locations."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import ExecutionResult, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.documents import Limits
from resolvers.executor import PicgraphExecutionContext, leaf_fields
from resolvers.schema import PicgraphSchema


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    count: int | None
    when: datetime
    colour: Colour | None
    tags: list[str]


class Exploding:
    """Reads like an Item whose `name` raises."""

    count = 1
    when = datetime(2026, 1, 1, tzinfo=UTC)
    colour = Colour.RED
    tags = ("a",)

    @property
    def name(self) -> str:
        raise RuntimeError("name failed")


GOOD = Item(name="ok", count=3, when=datetime(2026, 1, 2, tzinfo=UTC), colour=Colour.BLUE, tags=[])


def broken() -> list[Any]:
    """Fresh each time: one of them holds a generator."""
    return [
        GOOD,
        Item(name=None, count=1, when=GOOD.when, colour=None, tags=["x"]),  # type: ignore[arg-type]
        Item(name="n", count="many", when=GOOD.when, colour=None, tags=[]),  # type: ignore[arg-type]
        Item(name="n", count=1, when="not a date", colour=None, tags=[]),  # type: ignore[arg-type]
        Item(name="n", count=1, when=GOOD.when, colour="green", tags=[]),  # type: ignore[arg-type]
        Exploding(),
        Item(name="n", count=1, when=GOOD.when, colour=None, tags=["a", None]),  # type: ignore[list-item]
        Item(name="n", count=1, when=GOOD.when, colour=None, tags="abc"),  # type: ignore[arg-type]
        Item(name="n", count=1, when=GOOD.when, colour=None, tags=(t for t in "gh")),  # type: ignore[arg-type]
        Item(name="n", count=1, when=GOOD.when, colour=None, tags=[1, object()]),  # type: ignore[list-item]
        Item(name="n", count=1, when=GOOD.when, colour=None, tags=("t", 2, True)),  # type: ignore[arg-type]
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return broken()

    @strawberry.field
    def strict(self) -> list[Item]:
        return broken()[:2]

    @strawberry.field
    async def later(self) -> Item:
        return GOOD

    @strawberry.field
    async def later_too(self) -> str:
        return "done"


SCHEMA = PicgraphSchema(query=Query, limits=Limits()).engine.schema


class Fast(PicgraphExecutionContext):
    leaves = leaf_fields(SCHEMA)


def run(document: str, executor: type[StrawberryGraphQLCoreExecutionContext]) -> ExecutionResult:
    built = executor.build(SCHEMA, parse(document), None, None, {}, None)
    assert not isinstance(built, list)
    result = built.execute_operation()
    if not isinstance(result, ExecutionResult):
        result = asyncio.run(result)  # type: ignore[arg-type]
    return result


def same_as_graphql_core(document: str) -> ExecutionResult:
    ours = run(document, Fast)
    theirs = run(document, StrawberryGraphQLCoreExecutionContext)
    assert ours.data == theirs.data
    assert [e.formatted for e in ours.errors or []] == [e.formatted for e in theirs.errors or []]
    return ours


def test_the_shortcut_covers_plain_leaf_attributes_only() -> None:
    item = SCHEMA.get_type("Item")
    assert set(Fast.leaves[item]) == {"name", "count", "when", "colour", "tags"}  # type: ignore[index]
    assert SCHEMA.get_type("Query") not in Fast.leaves


def test_broken_values_give_graphql_cores_nulls_and_errors() -> None:
    # GIVEN items whose values are null where not allowed, of the wrong type, or raise
    # WHEN the same document runs through both executors
    result = same_as_graphql_core("{ items { name count when colour tags } }")
    # THEN (checked above) identical; and each broken item reports its own error
    assert result.data is not None
    assert result.data["items"][0] == {
        "name": "ok",
        "count": 3,
        "when": "2026-01-02T00:00:00+00:00",
        "colour": "BLUE",
        "tags": [],
    }
    assert result.errors is not None
    paths = [error.path for error in result.errors]
    assert paths == [
        ["items", 1, "name"],
        ["items", 2, "count"],
        ["items", 3, "when"],
        ["items", 4, "colour"],
        ["items", 5, "name"],
        ["items", 6, "tags", 1],
        ["items", 7, "tags"],
        ["items", 9, "tags", 1],
    ]
    assert result.errors[0].message == "Cannot return null for non-nullable field Item.name."
    assert result.data["items"][8]["tags"] == ["g", "h"]  # any iterable, as graphql-core
    assert result.data["items"][10]["tags"] == ["t", "2", "true"]


def test_a_null_in_a_non_null_list_propagates_like_graphql_core() -> None:
    result = same_as_graphql_core("{ strict { name } }")
    assert result.data is None


def test_aliases_and_selections_are_each_documents_own() -> None:
    first = same_as_graphql_core("{ a: items { n: name c: count } }")
    second = same_as_graphql_core("{ items { count name } }")
    assert first.data is not None
    assert second.data is not None
    assert list(first.data["a"][0]) == ["n", "c"]
    assert list(second.data["items"][0]) == ["count", "name"]


def test_async_fields_next_to_leaves_are_awaited() -> None:
    result = same_as_graphql_core("{ later { name count } laterToo }")
    assert result.data == {"later": {"name": "ok", "count": 3}, "laterToo": "done"}
    single = same_as_graphql_core("{ later { name } }")
    assert single.data == {"later": {"name": "ok"}}

"""The executor's shortcut for leaf fields (resolvers/executor.py) answers exactly what
graphql-core's own executor answers: data, nulls, error messages, paths and locations; and
the real schema, with its direct resolvers, answers what Strawberry's own resolvers do."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry
from graphql import ExecutionResult, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from infra.settings import Settings
from resolvers.bootstrap import build_app
from resolvers.context import Context
from resolvers.documents import Limits
from resolvers.executor import PicgraphExecutionContext, leaf_fields
from resolvers.queries import Query as RealQuery
from resolvers.schema import Mutation, PicgraphSchema, schema_for
from resolvers.types import Image
from services.models import CameraMetadata, ImagePage, ImageQuery, ImageStatus, Position, Variant
from services.models import Image as ImageModel
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore


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


class ListedRepository(FakeRepository):
    """The fakes, plus a page: every image, newest first."""

    def list_page(
        self, query: ImageQuery, *, limit: int, after: Position | None, backwards: bool
    ) -> ImagePage:
        del query, after, backwards
        ordered = sorted(self.images.values(), key=lambda image: image.created_at, reverse=True)
        return ImagePage(tuple(ordered[:limit]), len(ordered) > limit, None)


def stored_image(number: int, status: ImageStatus) -> ImageModel:
    created = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=number)
    image_id = f"00000000-0000-4000-8000-{number:012d}"
    variants = tuple(
        Variant(name, width, width * 3 // 4, content, 1000 + width, f"t/{image_id}/{name}", fmt)
        for fmt, content in (("JPEG", "image/jpeg"), ("WEBP", "image/webp"))
        for name, width in (("thumbnail", 320), ("medium", 640), ("feed", 1080))
    )
    ready = status is ImageStatus.READY
    return ImageModel(
        id=image_id,
        owner_id="owner-1",
        filename=f"photo-{number}.jpg",
        content_type="image/jpeg",
        declared_size=2_000_000,
        created_at=created,
        updated_at=created,
        status=status,
        version=3,
        title=None if number % 2 else f"Photo {number}",
        tags=("beach", "summer") if number % 3 else (),
        size_bytes=2_000_000 if ready else None,
        width=4000 if ready else None,
        height=3000 if ready else None,
        original_key=f"images/{image_id}.jpg",
        variants=variants if ready else (),
        metadata=CameraMetadata("Canon", None, created) if number % 2 else None,
        placeholder="HBkSHYSIeHiPiHh8eJd4eTN0EEQG" if ready else None,
        dominant_color="#1e5aa0" if ready else None,
    )


REAL_FIELDS = """
  id ownerId title description tags status filename contentType sizeBytes width height
  checksumSha256 createdAt updatedAt deletedAt url aspectRatio placeholder dominantColor
  metadata { cameraMake cameraModel takenAt }
  thumbnail { name width height contentType sizeBytes url }
  webpThumbnail: thumbnail(format: WEBP) { contentType url }
  avifThumbnail: thumbnail(format: AVIF) { contentType }
  variants { name width url }
  webp: variants(format: WEBP) { name contentType url }
"""


def test_the_real_schema_answers_as_strawberrys_own_resolvers_do() -> None:
    # GIVEN ready and pending images
    repository = ListedRepository()
    for number in range(6):
        image = stored_image(number, ImageStatus.READY if number % 4 else ImageStatus.PROCESSING)
        repository.images[image.id] = image
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": "execution-test-secret-0123456789-ab"})
    app = build_app(settings, repository=repository, store=FakeStore(), clock=FakeClock())
    stock = strawberry.Schema(query=RealQuery, mutation=Mutation, types=[Image])
    ours = schema_for(settings)
    page = "{ images(first: 5) { edges { cursor node { %s } } pageInfo { hasNextPage } } }"
    one = "query($id: ID!) { image(id: $id) { %s } node(id: $id) { id ... on Image { tags } } }"
    variables = {"id": stored_image(1, ImageStatus.READY).id}
    documents = [page.replace("%s", REAL_FIELDS), one.replace("%s", REAL_FIELDS)]
    for document in documents:
        for viewer in ("owner-1", "someone-else"):
            context = Context(app=app, request_id="req-execution", viewer_id=viewer)
            # WHEN the same document runs through picgraph's schema and a stock one
            theirs = stock.execute_sync(document, variables, context_value=context)
            mine = ours.execute_sync(document, variables, context_value=context)
            # THEN the same data, nothing refused
            assert theirs.errors is None
            assert mine.data == theirs.data

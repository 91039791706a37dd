"""GraphQL per-request cost in process: picgraph's pipeline against plain graphql-core.

Contenders, measured interleaved in one run on the same in-memory fakes (one READY image
for `image(id)`, a 20-item page for `images(first: 20)`):

- picgraph over HTTP's path: `schema.execute_sync` on the real schema (document cache,
  limits including cost, error shaping, the JSON request log written to /dev/null);
- picgraph over AppSync: `resolvers.appsync.resolve` on an AppSync direct resolver event;
- the peer: plain graphql-core on the same SDL (schema.graphql) with plain resolvers calling
  the same services, parsing, validating and executing every request (`graphql_sync`);
- for reference, the same peer executing a document it parsed and validated once
  (execution only: what picgraph's executor is measured against per item).

Goals (issue 10.1): image(id) <= 0.15x and images(first: 20) <= 0.6x the peer.
Prints figures and writes build/bench/bench_graphql.json.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphql import (  # noqa: E402
    DocumentNode,
    GraphQLSchema,
    build_schema,
    execute,
    graphql_sync,
    parse,
    validate,
)

from infra.settings import Settings  # noqa: E402
from resolvers import appsync_operations as appsync  # noqa: E402
from resolvers.bootstrap import App, build_app  # noqa: E402
from resolvers.context import Context  # noqa: E402
from resolvers.logs import JsonFormatter  # noqa: E402
from resolvers.schema import schema_for  # noqa: E402
from services.listing import Connection  # noqa: E402
from services.models import (  # noqa: E402
    CameraMetadata,
    Image,
    ImagePage,
    ImageQuery,
    ImageStatus,
    Position,
    Variant,
)
from tests.support.clock import FakeClock  # noqa: E402
from tests.support.fakes import FakeRepository, FakeStore  # noqa: E402

OUTPUT = ROOT / "build" / "bench" / "bench_graphql.json"
IMAGE_FIELDS = """
  id ownerId title description tags status filename contentType sizeBytes
  width height checksumSha256 createdAt updatedAt deletedAt url
  thumbnail { name width height contentType sizeBytes url }
  variants { name width height contentType sizeBytes url }
  metadata { cameraMake cameraModel takenAt }
"""
IMAGE_QUERY = "query Image($id: ID!) { image(id: $id) { %s } }" % IMAGE_FIELDS  # noqa: UP031
PAGE_SELECTION = (
    "{ edges { cursor node { id ownerId title tags status width height createdAt"
    " thumbnail { url width height } } } pageInfo { hasNextPage endCursor } }"
)
PAGE_QUERY = "query Page { images(first: 20) %s }" % PAGE_SELECTION  # noqa: UP031
VIEWER = "bench-viewer"
# ours over HTTP's path, ours over AppSync, the plain peer, the peer on a cached document,
# the goal ratio, calls per round
Case = tuple[Callable[[], Any], Callable[[], Any], Callable[[], Any], Callable[[], Any], float, int]


class PagedRepository(FakeRepository):
    """The fakes, plus a feed page: the first `limit` images, newest first."""

    def list_page(
        self, query: ImageQuery, *, limit: int, after: Position | None, backwards: bool
    ) -> ImagePage:
        del query, after, backwards
        ordered = sorted(self.images.values(), key=lambda image: image.created_at, reverse=True)
        page = tuple(ordered[:limit])
        more = len(ordered) > limit
        last = Position(page[-1].created_at, page[-1].id) if page else None
        return ImagePage(page, more, last if more else None)


def ready_image(number: int, start: datetime) -> Image:
    created = start + timedelta(minutes=number)
    image_id = f"00000000-0000-4000-8000-{number:012d}"
    variants = tuple(
        Variant(name, width, width * 3 // 4, "image/jpeg", 20_000 + width, f"t/{image_id}/{name}")
        for name, width in (("thumbnail", 320), ("medium", 640), ("feed", 1080))
    )
    return Image(
        id=image_id,
        owner_id="owner-1",
        filename=f"photo-{number}.jpg",
        content_type="image/jpeg",
        declared_size=2_000_000,
        created_at=created,
        updated_at=created,
        status=ImageStatus.READY,
        version=3,
        title=f"Photo {number}",
        description="A bench image",
        tags=("beach", "summer"),
        size_bytes=2_000_000,
        width=4000,
        height=3000,
        checksum_sha256="0" * 64,
        original_key=f"images/{image_id}.jpg",
        variants=variants,
        metadata=CameraMetadata("Canon", "EOS 40D", created),
    )


def make_app() -> App:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": "bench-graphql-secret-0123456789-abc"})
    repository = PagedRepository()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(25):
        image = ready_image(number, start)
        repository.images[image.id] = image
    return build_app(settings, repository=repository, store=FakeStore(), clock=FakeClock())


def plain_schema(app: App) -> GraphQLSchema:
    """graphql-core on the same SDL; resolvers call the same services, like a thin peer."""
    schema = build_schema((ROOT / "schema.graphql").read_text())
    reader = app.reader

    def image_dict(model: Image) -> dict[str, Any]:
        return {
            "id": model.id,
            "ownerId": model.owner_id,
            "title": model.title,
            "description": model.description,
            "tags": list(model.tags),
            "status": model.status.value,
            "filename": model.filename,
            "contentType": model.content_type,
            "sizeBytes": model.size_bytes,
            "width": model.width,
            "height": model.height,
            "checksumSha256": model.checksum_sha256,
            "createdAt": model.created_at,
            "updatedAt": model.updated_at,
            "deletedAt": model.deleted_at,
            "metadata": None
            if model.metadata is None
            else {
                "cameraMake": model.metadata.make,
                "cameraModel": model.metadata.model,
                "takenAt": model.metadata.taken_at,
            },
            "model": model,
        }

    def variants(source: dict[str, Any], info: Any, format: str = "JPEG") -> list[dict[str, Any]]:
        return [
            {
                "name": variant.name,
                "width": variant.width,
                "height": variant.height,
                "contentType": variant.content_type,
                "sizeBytes": variant.size_bytes,
                "url": reader.variant_url(variant),
            }
            for variant in reader.variants(source["model"], format)
        ]

    def image(_: Any, info: Any, id: str) -> dict[str, Any] | None:
        found = reader.get(info.context.viewer_id, id)
        return None if found is None else image_dict(found)

    def images(_: Any, info: Any, first: int | None = None, **__: Any) -> dict[str, Any]:
        connection: Connection = app.listing.list_images(info.context.viewer_id, first=first)
        return {
            "edges": [{"cursor": e.cursor, "node": image_dict(e.image)} for e in connection.edges],
            "pageInfo": {
                "hasNextPage": connection.has_next_page,
                "hasPreviousPage": connection.has_previous_page,
                "startCursor": connection.start_cursor,
                "endCursor": connection.end_cursor,
            },
        }

    query_type: Any = schema.query_type
    query_type.fields["image"].resolve = image
    query_type.fields["images"].resolve = images
    image_type: Any = schema.get_type("Image")
    image_type.fields["url"].resolve = lambda source, info: reader.original_url(
        info.context.viewer_id, source["model"]
    )
    image_type.fields["variants"].resolve = variants
    image_type.fields["thumbnail"].resolve = lambda source, info, format="JPEG": next(
        iter(variants(source, info, format)), None
    )
    date_time: Any = schema.get_type("DateTime")
    date_time.coerce_output_value = lambda value: value.isoformat()
    return schema


def prepared(schema: GraphQLSchema, text: str) -> DocumentNode:
    document = parse(text)
    errors = validate(schema, document)
    if errors:
        raise SystemExit(f"the peer refuses {text!r}: {errors}")
    return document


def appsync_event(field: str, arguments: dict[str, Any], selection: str) -> dict[str, Any]:
    return {
        "arguments": arguments,
        "identity": {"sub": VIEWER, "claims": {}, "sourceIp": ["203.0.113.10"]},
        "source": None,
        "request": {"headers": {}},
        "prev": None,
        "info": {
            "fieldName": field,
            "parentTypeName": "Query",
            "selectionSetGraphQL": selection,
            "selectionSetList": [],
            "variables": {},
        },
        "stash": {},
    }


def median_microseconds(
    contenders: dict[str, Callable[[], Any]], *, rounds: int, per_round: int
) -> dict[str, float]:
    """Interleaved rounds; the median over rounds of each round's mean time per call."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for call in contenders.values():
        for _ in range(20):
            call()  # warm caches and code paths
    for _ in range(rounds):
        for name, call in contenders.items():
            started = time.perf_counter()
            for _ in range(per_round):
                call()
            samples[name].append((time.perf_counter() - started) / per_round * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def check(result: Any, label: str) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        raise SystemExit(f"{label} answered errors: {errors}")


def main() -> None:
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    app = make_app()
    schema = schema_for(app.settings)
    peer = plain_schema(app)
    image_id = next(iter(app.repository.images))  # type: ignore[attr-defined]

    def context() -> Context:
        return Context(app=app, request_id="bench", viewer_id=VIEWER)

    image_event = appsync_event(
        "image", {"id": image_id}, "{" + IMAGE_FIELDS.replace("\n", " ") + "}"
    )
    page_event = appsync_event("images", {"first": 20}, PAGE_SELECTION)
    image_document = prepared(peer, IMAGE_QUERY)
    page_document = prepared(peer, PAGE_QUERY)

    cases: dict[str, Case] = {
        "image(id)": (
            lambda: schema.execute_sync(
                IMAGE_QUERY, variable_values={"id": image_id}, context_value=context()
            ),
            lambda: appsync.resolve(app, image_event, "bench"),
            lambda: graphql_sync(
                peer, IMAGE_QUERY, variable_values={"id": image_id}, context_value=context()
            ),
            lambda: execute(
                peer, image_document, variable_values={"id": image_id}, context_value=context()
            ),
            0.15,
            300,
        ),
        "images(first: 20)": (
            lambda: schema.execute_sync(PAGE_QUERY, context_value=context()),
            lambda: appsync.resolve(app, page_event, "bench"),
            lambda: graphql_sync(peer, PAGE_QUERY, context_value=context()),
            lambda: execute(peer, page_document, context_value=context()),
            0.6,
            60,
        ),
    }
    rows: list[dict[str, str]] = []
    print("GraphQL per request, in process, same fakes (median of interleaved rounds):")
    for label, (ours, ours_appsync, plain, plain_cached, goal, per_round) in cases.items():
        check(ours(), f"picgraph {label}")
        check(plain(), f"graphql-core {label}")
        check(plain_cached(), f"graphql-core (cached document) {label}")
        if ours_appsync()[1] is not None:
            raise SystemExit(f"AppSync {label} failed: {ours_appsync()[1]}")
        same = ours().data == plain().data
        times = median_microseconds(
            {"picgraph": ours, "appsync": ours_appsync, "plain": plain, "cached": plain_cached},
            rounds=9,
            per_round=per_round,
        )
        for name, what in (("picgraph", "picgraph (HTTP path)"), ("appsync", "picgraph AppSync")):
            ratio = times[name] / times["plain"]
            verdict = "within" if ratio <= goal else "NOT within"
            figure = (
                f"{times[name]:.0f} µs vs plain graphql-core (parse + validate + execute) "
                f"{times['plain']:.0f} µs: {ratio:.2f}x ({verdict} the {goal}x goal)"
            )
            print(f"  {label:<18} {what:<22} {figure}")
            rows.append({"what": f"GraphQL {label}, {what}", "figure": figure})
        figure = (
            f"{times['picgraph']:.0f} µs vs graphql-core executing its cached document "
            f"{times['cached']:.0f} µs: {times['picgraph'] / times['cached']:.2f}x (no goal)"
        )
        print(f"  {label:<18} {'execution only':<22} {figure}")
        rows.append({"what": f"GraphQL {label}, execution only", "figure": figure})
        print(f"  {label:<18} same data from both schemas: {same}")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

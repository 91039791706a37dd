"""AppSync's engine-free read path answers exactly what the schema answers.

Each case runs one AppSync event twice: through resolvers/appsync_fast.py and through
the schema (resolvers/appsync_operations.py), on the same images, and compares.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.settings import Settings
from resolvers import appsync_fast, appsync_operations, errors
from resolvers.bootstrap import App, build_app
from resolvers.schema import schema_for
from services.models import CameraMetadata, Image, ImageStatus, Variant
from tests.conftest import EVENTS_DIR
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
OWNER = "ada"


def variant(name: str, width: int, image_format: str = "JPEG") -> Variant:
    extension = {"JPEG": "jpg", "WEBP": "webp", "AVIF": "avif"}[image_format]
    return Variant(
        name=name,
        width=width,
        height=width * 3 // 4,
        content_type=f"image/{extension.replace('jpg', 'jpeg')}",
        size_bytes=width * 10,
        key=f"renditions/x/{name}.{extension}",
        format=image_format,
    )


def image(status: ImageStatus, **changes: Any) -> Image:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "owner_id": OWNER,
        "filename": "beach.jpg",
        "content_type": "image/jpeg",
        "declared_size": 1000,
        "created_at": T0,
        "updated_at": T0,
        "status": status,
        "title": "Beach",
        "description": None,
        "tags": ("sea", "sun"),
    }
    if status is ImageStatus.READY:
        values.update(
            size_bytes=900,
            width=4000,
            height=3000,
            checksum_sha256="ab" * 32,
            original_key="originals/x",
            variants=(
                variant("thumbnail", 320),
                variant("small", 640),
                variant("thumbnail", 320, "WEBP"),
                variant("thumbnail", 320, "AVIF"),
            ),
            metadata=CameraMetadata(make="Canon", model=None, taken_at=T0),
            placeholder="3OcRJYB4d3h/iIeHeEh3eIhw+j2w",
            dominant_color="#336699",
        )
    values.update(changes)
    return Image(**values)


@pytest.fixture
def app() -> App:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": "fast-test-secret-0123456789-abcdefgh"})
    return build_app(settings, repository=FakeRepository(), store=FakeStore(), clock=FakeClock())


def stored(app: App, value: Image) -> Image:
    assert isinstance(app.repository, FakeRepository)
    app.repository.images[value.id] = value
    return value


def event(field: str, image_id: str, selection: str, **info: Any) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((EVENTS_DIR / "appsync_query_image.json").read_text())
    sample["arguments"]["id"] = image_id
    sample["identity"]["sub"] = sample["identity"]["claims"]["sub"] = OWNER
    sample["info"]["fieldName"] = field
    sample["info"]["selectionSetGraphQL"] = selection
    sample["info"].update(info)
    return sample


EVERY_FIELD = """{
  __typename id ownerId title description tags status filename contentType sizeBytes
  width height checksumSha256 createdAt updatedAt deletedAt aspectRatio placeholder
  dominantColor url
  metadata { cameraMake cameraModel takenAt __typename }
  thumbnail { name width height contentType sizeBytes url __typename }
  variants { name url }
}"""
SELECTIONS = [
    EVERY_FIELD,
    "{ id status thumbnail { name url } }",
    "{ thumbnail(format: WEBP) { name url } variants(format: AVIF) { name contentType } }",
    "{ id, key: status, ...parts } fragment parts on Image { tags ... on Node { id } }",
    "{ ... on Image { id variants { name } } ... @skip(if: true) { url } }",
    "# a comment\n{ id tags @include(if: $withTags) thumbnail(format: $format) { name } }",
    "{ id thumbnail { name } thumbnail { url } }",
]


@pytest.mark.parametrize("selection", SELECTIONS)
@pytest.mark.parametrize(
    "status", [ImageStatus.READY, ImageStatus.PENDING_UPLOAD, ImageStatus.DELETED]
)
@pytest.mark.parametrize("field", ["image", "node"])
def test_the_fast_path_answers_what_the_schema_answers(
    app: App, selection: str, status: ImageStatus, field: str
) -> None:
    # GIVEN an image of the viewer's (READY, pending, in the trash)
    target = stored(app, image(status, deleted_at=T0 if status is ImageStatus.DELETED else None))
    sample = event(field, target.id, selection, variables={"withTags": True, "format": "WEBP"})
    # WHEN the event runs through the fast path and through the schema
    fast = appsync_fast.resolve(app, copy.deepcopy(sample), "req-1")
    slow = appsync_operations.resolve(app, copy.deepcopy(sample), "req-1")
    # THEN the fast path took it, and both answers are the same
    assert fast is not None
    assert fast == slow


@pytest.mark.parametrize(
    ("identity", "image_id"),
    [
        ({"sub": "someone-else"}, None),  # READY: everyone sees it
        ({"sub": "someone-else"}, "pending"),  # someone else's pending upload: null
        (None, None),  # no identity: UNAUTHENTICATED
        ("None", None),  # the string "None" of a published sample
        ({"sub": OWNER}, "not-an-id"),
        ({"sub": OWNER}, str(uuid.uuid4())),  # no such image
    ],
)
def test_who_may_see_what_is_the_same_on_both_paths(
    app: App, identity: object, image_id: str | None
) -> None:
    ready = stored(app, image(ImageStatus.READY))
    pending = stored(app, image(ImageStatus.PENDING_UPLOAD))
    target = {None: ready.id, "pending": pending.id}.get(image_id, image_id)
    assert target is not None
    sample = event("image", target, "{ id url thumbnail { url } }")
    sample["identity"] = identity
    fast = appsync_fast.resolve(app, copy.deepcopy(sample), "req-2")
    assert fast is not None
    assert fast == appsync_operations.resolve(app, copy.deepcopy(sample), "req-2")


@pytest.mark.parametrize(
    ("field", "selection", "arguments"),
    [
        ("images", "{ edges { cursor } }", {}),  # another field
        ("image", "{ id }", {"id": "x", "extra": 1}),  # an argument it does not expect
        ("image", "{ id newField }", None),  # a field it does not serve
        ("image", "{ thumbnail(format: GIF) { name } }", None),  # a value it does not know
        ("image", "{ id ...missing }", None),
        ("image", "{ id @defer }", None),
        ("image", "{ id ", None),  # does not parse: the schema's error message
        ("image", "query { id }", None),
        ("image", '{ title(x: """block""") }', None),
        (
            "image",
            "{ a: thumbnail(format: JPEG) { name } b: thumbnail(format: WEBP) { name } }",
            None,
        ),
    ],
)
def test_anything_else_is_left_to_the_schema(
    app: App, field: str, selection: str, arguments: dict[str, Any] | None
) -> None:
    sample = event(field, str(uuid.uuid4()), selection)
    if arguments is not None:
        sample["arguments"] = arguments
    assert appsync_fast.resolve(app, sample, "req-3") is None


def test_a_failing_read_is_masked_with_the_request_id_as_the_schema_masks_it(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("AccessDeniedException: arn:aws:dynamodb:secret-table")

    monkeypatch.setattr(app.repository, "get", broken)
    sample = event("image", str(uuid.uuid4()), "{ id }")
    fast = appsync_fast.resolve(app, copy.deepcopy(sample), "req-4")
    assert fast == appsync_operations.resolve(app, copy.deepcopy(sample), "req-4")


def test_the_fields_served_are_the_schemas_and_the_codes_are_its_codes(app: App) -> None:
    # GIVEN the schema WHEN a field is added to Image, ImageVariant or ImageMetadata THEN
    # this fails until the fast path serves it (or refuses it on purpose)
    schema = schema_for(app.settings).engine.schema
    for type_name, served in appsync_fast._FIELDS_OF.items():
        fields = getattr(schema.get_type(type_name), "fields", {})
        assert served - {"__typename"} == set(fields), type_name
    assert appsync_fast.UNAUTHENTICATED == errors.UNAUTHENTICATED
    assert appsync_fast.INTERNAL_SERVER_ERROR == errors.INTERNAL_SERVER_ERROR
    assert appsync_fast.MASKED_MESSAGE == errors.MASKED_MESSAGE

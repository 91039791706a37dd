"""variants(format:), thumbnail(format:), aspectRatio, placeholder and dominantColor,
through the real schema, on in-memory fakes; and their storage in DynamoDB items."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image as PILImage
from PIL import ImageDraw, features

from infra import items
from infra.records import Image, ImageStatus, Variant
from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from services.imaging import PillowImageProcessor
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore
from tests.support.inprocess import execute_as

SECRET = "formats-test-secret-0123456789-abcdef"
needs_modern = pytest.mark.skipif(
    not (features.check("avif") and features.check("webp")), reason="no AVIF or WebP here"
)
FIELDS = """
  status aspectRatio placeholder dominantColor
  thumbnail { contentType width }
  jpeg: variants { name contentType width height }
  webp: variants(format: WEBP) { name contentType width height url }
  avif: variants(format: AVIF) { name contentType width height url }
  avifThumbnail: thumbnail(format: AVIF) { contentType width url }
"""


def photo(size: tuple[int, int] = (1600, 1200)) -> bytes:
    picture = PILImage.new("RGB", size, (30, 90, 160))
    ImageDraw.Draw(picture).ellipse((200, 200, 900, 900), fill=(240, 200, 40))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class World:
    def __init__(self) -> None:
        settings = Settings.from_env({"PICGRAPH_JWT_SECRET": SECRET})
        self.store = FakeStore()
        processor = PillowImageProcessor(max_pixels=settings.max_pixels)
        self.app: App = build_app(
            settings,
            repository=FakeRepository(),
            store=self.store,
            clock=FakeClock(),
            processor=lambda: processor,
        )

    def run(self, viewer: str, query: str, **variables: Any) -> dict[str, Any]:
        return execute_as(self.app, viewer, query, **variables)

    def image(self, viewer: str, image_id: str) -> dict[str, Any]:
        data = self.run(viewer, f"query($id: ID!) {{ image(id: $id) {{ {FIELDS} }} }}", id=image_id)
        image: dict[str, Any] = data["image"]
        return image

    def uploaded(self, owner: str, data: bytes) -> str:
        ticket = self.app.uploads.create_upload(
            owner, filename="p.jpg", content_type="image/jpeg", size_bytes=len(data)
        )
        self.store.write(ticket.image.staging_key, data, content_type="image/jpeg")
        return ticket.image.id


@needs_modern
def test_ready_image_offers_every_format_and_its_layout_fields() -> None:
    """GIVEN a 1600x1200 JPEG uploaded and completed
    WHEN a client asks for the layout fields and each format's variants
    THEN aspectRatio is 4/3, placeholder and dominantColor are set, the default lists are
    JPEG as before, and WEBP/AVIF lists have the same names and sizes with their types."""
    world = World()
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    image_id = world.uploaded(owner, photo())
    world.app.uploads.complete_upload(owner, image_id)

    image = world.image(owner, image_id)

    assert image["status"] == "READY"
    assert image["aspectRatio"] == pytest.approx(4 / 3)
    assert isinstance(image["placeholder"], str)
    assert image["dominantColor"] == "#1e5aa0"
    sizes = [(v["name"], v["width"], v["height"]) for v in image["jpeg"]]
    assert sizes == [("thumbnail", 320, 240), ("medium", 640, 480), ("feed", 1080, 810)]
    assert {v["contentType"] for v in image["jpeg"]} == {"image/jpeg"}
    assert image["thumbnail"] == {"contentType": "image/jpeg", "width": 320}
    for listed, content_type in ((image["webp"], "image/webp"), (image["avif"], "image/avif")):
        assert [(v["name"], v["width"], v["height"]) for v in listed] == sizes
        assert {v["contentType"] for v in listed} == {content_type}
    assert image["avifThumbnail"]["contentType"] == "image/avif"
    assert "_thumb.avif" in image["avifThumbnail"]["url"]
    stored = {key for key in world.store.objects if key.startswith("thumbnails/")}
    assert len(stored) == 9
    assert {key.rsplit(".", 1)[1] for key in stored} == {"jpg", "webp", "avif"}


def test_layout_fields_are_null_until_ready() -> None:
    """GIVEN an upload that was never completed WHEN its owner reads it
    THEN aspectRatio, placeholder and dominantColor are null and no format has variants."""
    world = World()
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    ticket = world.app.uploads.create_upload(
        owner, filename="p.jpg", content_type="image/jpeg", size_bytes=1000
    )

    image = world.image(owner, ticket.image.id)

    assert image["status"] == "PENDING_UPLOAD"
    assert (image["aspectRatio"], image["placeholder"], image["dominantColor"]) == (None,) * 3
    assert image["jpeg"] == image["webp"] == image["avif"] == []
    assert image["avifThumbnail"] is None


def test_image_processed_before_formats_existed_keeps_its_jpeg_list() -> None:
    """GIVEN a READY item stored before formats existed (no `format` in its variants)
    WHEN read back THEN its variants are the JPEG list, and WEBP/AVIF lists are empty."""
    now = datetime(2026, 1, 2, tzinfo=UTC)
    image = Image(
        id="old-image",
        owner_id="ann",
        filename="a.jpg",
        content_type="image/jpeg",
        declared_size=10,
        created_at=now,
        updated_at=now,
        status=ImageStatus.READY,
        width=400,
        height=300,
        variants=(Variant("thumbnail", 320, 240, "image/jpeg", 99, "thumbnails/x_thumb.jpg"),),
    )
    item = items.to_item(image)
    for variant in item["variants"]["L"]:
        del variant["M"]["format"]

    restored = items.from_item(item)

    assert restored == image
    assert restored.placeholder is None
    world = World()
    assert world.app.reader.variants(restored, "JPEG") == image.variants
    assert world.app.reader.variants(restored, "AVIF") == ()


def test_placeholder_dominant_colour_and_formats_survive_the_item_round_trip() -> None:
    """GIVEN an image with a placeholder, a dominant colour and AVIF variants
    WHEN written as a DynamoDB item and read back THEN nothing is lost."""
    now = datetime(2026, 1, 2, tzinfo=UTC)
    image = Image(
        id="new-image",
        owner_id="ann",
        filename="a.jpg",
        content_type="image/jpeg",
        declared_size=10,
        created_at=now,
        updated_at=now,
        status=ImageStatus.READY,
        placeholder="HBkSHYSIeHiPiHh8eJd4eTN0EEQG",
        dominant_color="#1e5aa0",
        variants=(
            Variant("thumbnail", 320, 240, "image/avif", 42, "thumbnails/x_thumb.avif", "AVIF"),
        ),
    )

    assert items.from_item(items.to_item(image)) == image

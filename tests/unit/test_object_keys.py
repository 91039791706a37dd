"""Every S3 key processing can write is one keys.object_keys lists (so deletes find it)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image as PILImage

from infra import keys
from services import imaging
from services.imaging import PillowImageProcessor
from services.models import Image, ImageStatus, Variant

CREATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def image(**changes: object) -> Image:
    base = Image(
        id="3f1c2a9e-0000-4000-8000-000000000001",
        owner_id="ann",
        filename="a.jpg",
        content_type="image/jpeg",
        declared_size=10,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return base.evolve(**changes) if changes else base


def encoded(mode: str, fmt: str) -> bytes:
    buffer = io.BytesIO()
    PILImage.new(mode, (64, 48), "teal").save(buffer, fmt)
    return buffer.getvalue()


def test_every_format_processing_detects_has_an_original_key_layout() -> None:
    """GIVEN every upload format services.imaging recognises
    THEN an original key can be built for it, and object_keys lists that key."""
    formats = [
        value for value in vars(imaging).values() if isinstance(value, imaging.DetectedFormat)
    ]
    assert {fmt.extension for fmt in formats} >= {"jpg", "png", "gif", "webp", "heic"}
    owned = set(keys.object_keys(image()))
    for fmt in formats:
        assert keys.original_key(image(), fmt.extension) in owned


@pytest.mark.parametrize(("mode", "fmt"), [("RGB", "JPEG"), ("RGBA", "PNG"), ("P", "GIF")])
def test_every_key_a_processing_run_writes_is_in_object_keys(mode: str, fmt: str) -> None:
    """GIVEN a real Pillow run on an opaque JPEG, a transparent PNG and a GIF
    THEN the original's key and every rendition's key are in object_keys of the image
    as it was before processing (nothing recorded yet)."""
    processed = PillowImageProcessor().process(encoded(mode, fmt))
    pending = image()
    owned = set(keys.object_keys(pending))
    assert keys.original_key(pending, processed.extension) in owned
    for rendition in processed.renditions:
        assert keys.rendition_key(pending, rendition.name, rendition.extension) in owned


def test_object_keys_also_lists_whatever_the_item_records() -> None:
    """GIVEN an item that records a key outside today's layout (an older layout)
    THEN object_keys still lists it, with the staging key."""
    legacy = image(
        status=ImageStatus.READY,
        original_key="images/2026/12/legacy.jpeg",
        variants=(Variant("thumbnail", 4, 3, "image/jpeg", 5, "thumbnails/old/x.jpg"),),
    )
    owned = keys.object_keys(legacy)
    assert {"images/2026/12/legacy.jpeg", "thumbnails/old/x.jpg", legacy.staging_key} <= set(owned)
    assert len(owned) == len(set(owned))


def test_a_key_outside_the_enumerated_layout_cannot_be_built() -> None:
    """GIVEN a format or rendition not listed in infra/keys.py
    THEN building its key fails at once, instead of writing an object no delete would find."""
    with pytest.raises(keys.UnknownObjectKeyError):
        keys.original_key(image(), "tiff")
    with pytest.raises(keys.UnknownObjectKeyError):
        keys.rendition_key(image(), "poster", "jpg")
    with pytest.raises(keys.UnknownObjectKeyError):
        keys.rendition_key(image(), "thumbnail", "bmp")

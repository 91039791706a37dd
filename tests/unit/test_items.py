"""Image records survive the trip to a DynamoDB item and back, unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

from infra import items, keys
from infra.records import CameraMetadata, Image, ImageStatus, Variant

NOW = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)


def ready_image(metadata: CameraMetadata | None) -> Image:
    return Image(
        id="img-1",
        owner_id="ann",
        filename="a.jpg",
        content_type="image/jpeg",
        declared_size=10,
        created_at=NOW,
        updated_at=NOW,
        status=ImageStatus.READY,
        version=3,
        title="T",
        tags=("b", "a"),
        size_bytes=10,
        width=4,
        height=3,
        checksum_sha256="0" * 64,
        original_key="images/2026/11/img-1.jpg",
        variants=(
            Variant("thumbnail", 4, 3, "image/jpeg", 5, "thumbnails/2026/11/img-1_thumb.jpg"),
        ),
        metadata=metadata,
    )


def test_round_trip_keeps_every_field_including_empty_metadata() -> None:
    for metadata in (None, CameraMetadata(), CameraMetadata("Canon", "EOS 40D", NOW)):
        image = ready_image(metadata)
        assert items.from_item(items.to_item(image)) == image


def test_ready_items_are_in_the_owner_and_feed_indexes_only() -> None:
    item = items.deserialize(items.to_item(ready_image(None)))
    assert item["GSI1PK"] == "OWNER#ann#READY"
    assert item["GSI2PK"] == "FEED#2026-11"
    assert item["GSI1SK"] == item["GSI2SK"] == "2026-11-30T23:59:59.999999Z#img-1"
    assert "GSI3PK" not in item
    assert keys.TTL_ATTRIBUTE not in item


def test_tag_items_copy_the_image_under_the_tag_partition() -> None:
    image = ready_image(None)
    tag_item = items.deserialize(items.to_tag_item(image, "b"))
    assert (tag_item["PK"], tag_item["SK"], tag_item["GSI1PK"]) == ("IMAGE#img-1", "TAG#b", "TAG#b")
    assert "GSI2PK" not in tag_item
    assert items.from_item(items.to_tag_item(image, "b")) == image

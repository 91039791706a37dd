"""Image records <-> DynamoDB items (low-level attribute-value format)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from infra import keys
from infra.records import CameraMetadata, Image, ImageStatus, Variant

Item = dict[str, Any]  # a low-level item: {"name": {"S": "..."}}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(image: Image, *, cleanup_shards: int = 1, feed_shards: int = 1) -> Item:
    """The image item: the record, its keys and its index attributes."""
    attributes = image_attributes(image, cleanup_shards=cleanup_shards, feed_shards=feed_shards)
    return serialize({**keys.image_key(image.id), **attributes})


def to_tag_item(image: Image, tag: str, *, shards: int = 1) -> Item:
    """A tag-timeline entry: a full copy of the image, so a tag page needs no second read."""
    return serialize(
        {
            **keys.tag_item_key(image.id, tag),
            **image_attributes(image, indexed=False),
            **keys.tag_index_attributes(image, tag, shards=shards),
        }
    )


def counter_update(table_name: str, key: dict[str, str], deltas: Mapping[str, int]) -> Item:
    """A TransactWriteItems Update that ADDs each delta to its numeric attribute.

    ADD creates the item and the attribute (from 0) when absent, so counters need no
    initialisation, and concurrent ADDs never lose an increment.
    """
    changed = [(name, delta) for name, delta in sorted(deltas.items()) if delta]
    return {
        "Update": {
            "TableName": table_name,
            "Key": serialize(key),
            "UpdateExpression": "ADD "
            + ", ".join(f"#c{index} :c{index}" for index in range(len(changed))),
            "ExpressionAttributeNames": {
                f"#c{index}": name for index, (name, _) in enumerate(changed)
            },
            "ExpressionAttributeValues": {
                f":c{index}": {"N": str(delta)} for index, (_, delta) in enumerate(changed)
            },
        }
    }


def counter_value(item: Item | None, attribute: str) -> int:
    """A counter attribute of a counter item; an absent item or attribute counts 0."""
    if not item or attribute not in item:
        return 0
    return int(item[attribute]["N"])


def serialize(plain: dict[str, Any]) -> Item:
    return {name: _serializer.serialize(value) for name, value in plain.items()}


def deserialize(item: Item) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def image_attributes(
    image: Image, *, indexed: bool = True, cleanup_shards: int = 1, feed_shards: int = 1
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "type": "Image",
        "id": image.id,
        "ownerId": image.owner_id,
        "filename": image.filename,
        "contentType": image.content_type,
        "declaredSize": image.declared_size,
        "status": image.status.value,
        "version": image.version,
        "tags": list(image.tags),
        "createdAt": keys.format_instant(image.created_at),
        "updatedAt": keys.format_instant(image.updated_at),
        "variants": [_variant_attributes(variant) for variant in image.variants],
    }
    optional: dict[str, Any] = {
        "title": image.title,
        "description": image.description,
        "sizeBytes": image.size_bytes,
        "width": image.width,
        "height": image.height,
        "checksumSha256": image.checksum_sha256,
        "placeholder": image.placeholder,
        "dominantColor": image.dominant_color,
        "originalKey": image.original_key,
        "rejectionCode": image.rejection_code,
        "rejectionMessage": image.rejection_message,
        "deletedAt": _instant(image.deleted_at),
        "processingUntil": _instant(image.processing_until),
        "cleanupAfter": _instant(image.cleanup_after),
    }
    if image.metadata is not None:
        # A map even when empty: "processed, nothing found" differs from "not processed".
        optional["metadata"] = {
            name: value
            for name, value in (
                ("cameraMake", image.metadata.make),
                ("cameraModel", image.metadata.model),
                ("takenAt", _instant(image.metadata.taken_at)),
            )
            if value is not None
        }
    attributes.update({name: value for name, value in optional.items() if value is not None})
    if indexed:
        attributes.update(
            keys.index_attributes(image, cleanup_shards=cleanup_shards, feed_shards=feed_shards)
        )
        if image.status is ImageStatus.PENDING_UPLOAD and image.cleanup_after is not None:
            # DynamoDB TTL as a backstop; the cleanup job normally removes it first
            # (TTL deletes only the item, cleanup also removes the staging object).
            attributes[keys.TTL_ATTRIBUTE] = int(image.cleanup_after.timestamp()) + 86400
    return attributes


def from_item(item: Item) -> Image:
    data = deserialize(item)
    metadata = data.get("metadata")
    return Image(
        id=data["id"],
        owner_id=data["ownerId"],
        filename=data["filename"],
        content_type=data["contentType"],
        declared_size=_int(data["declaredSize"]),
        status=ImageStatus(data["status"]),
        version=_int(data["version"]),
        title=data.get("title"),
        description=data.get("description"),
        tags=tuple(data.get("tags", ())),
        created_at=keys.parse_instant(data["createdAt"]),
        updated_at=keys.parse_instant(data["updatedAt"]),
        size_bytes=_optional_int(data.get("sizeBytes")),
        width=_optional_int(data.get("width")),
        height=_optional_int(data.get("height")),
        checksum_sha256=data.get("checksumSha256"),
        original_key=data.get("originalKey"),
        placeholder=data.get("placeholder"),
        dominant_color=data.get("dominantColor"),
        variants=tuple(_variant(raw) for raw in data.get("variants", ())),
        metadata=None
        if metadata is None
        else CameraMetadata(
            make=metadata.get("cameraMake"),
            model=metadata.get("cameraModel"),
            taken_at=_optional_instant(metadata.get("takenAt")),
        ),
        deleted_at=_optional_instant(data.get("deletedAt")),
        rejection_code=data.get("rejectionCode"),
        rejection_message=data.get("rejectionMessage"),
        processing_until=_optional_instant(data.get("processingUntil")),
        cleanup_after=_optional_instant(data.get("cleanupAfter")),
    )


def _variant_attributes(variant: Variant) -> dict[str, Any]:
    return {
        "name": variant.name,
        "width": variant.width,
        "height": variant.height,
        "contentType": variant.content_type,
        "sizeBytes": variant.size_bytes,
        "key": variant.key,
        "format": variant.format,
    }


def _variant(raw: dict[str, Any]) -> Variant:
    return Variant(
        name=raw["name"],
        width=_int(raw["width"]),
        height=_int(raw["height"]),
        content_type=raw["contentType"],
        size_bytes=_int(raw["sizeBytes"]),
        key=raw["key"],
        format=raw.get("format", "JPEG"),  # items written before formats existed
    )


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else keys.format_instant(moment)


def _optional_instant(text: str | None) -> datetime | None:
    return None if text is None else keys.parse_instant(text)


def _int(value: Decimal | int) -> int:
    return int(value)


def _optional_int(value: Decimal | int | None) -> int | None:
    return None if value is None else int(value)

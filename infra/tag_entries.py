"""Tag-timeline entries: a copy of a READY image per tag, written in the image's transactions.

An entry is found by its table key (IMAGE#{id}, TAG#{tag}) for moves and deletes; only a
put needs the tag's current shard count (infra/tag_shards.py) for its index keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra import items, keys
from infra.records import Image, ImageStatus
from infra.tag_shards import TagDirectory


def entry_writes(
    table_name: str, image: Image, previous: Image, directory: TagDirectory
) -> Iterator[dict[str, Any]]:
    """Tag-timeline entries follow the image: present exactly while it is READY."""
    wanted = set(image.tags) if image.status is ImageStatus.READY else set()
    existing = set(previous.tags) if previous.status is ImageStatus.READY else set()
    shards = directory.write_shards(sorted(wanted))
    directory.observe(sorted(wanted))
    for tag in sorted(wanted):
        item = items.to_tag_item(image, tag, shards=shards[tag])
        yield {"Put": {"TableName": table_name, "Item": item}}
    for tag in sorted(existing - wanted):
        yield entry_delete(table_name, image.id, tag)


def entry_deletes(table_name: str, image: Image) -> list[dict[str, Any]]:
    """Every entry the image may have (deleting an absent one is a no-op)."""
    return [entry_delete(table_name, image.id, tag) for tag in image.tags]


def entry_delete(table_name: str, image_id: str, tag: str) -> dict[str, Any]:
    return {
        "Delete": {
            "TableName": table_name,
            "Key": items.serialize(keys.tag_item_key(image_id, tag)),
        }
    }

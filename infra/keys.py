"""The single-table key layout, in one place (see docs/data-model.md).

Table: PK/SK. Three overloaded GSIs, all projecting every attribute:
  GSI1 (GSI1PK, GSI1SK): an owner's images per status, and tag timelines (READY only)
  GSI2 (GSI2PK, GSI2SK): the global timeline of READY images, one partition per month
  GSI3 (GSI3PK, GSI3SK): cleanup work per status, sorted by due time
TTL attribute: expiresAt (epoch seconds), set on pending uploads and idempotency records.

Counter items (no index attributes), written in the transaction that moves an image:
  COUNTS#OWNER#{owner}[#{k}] / COUNTS[#{k}]  a number per status: the owner's images in it
  COUNTS#TAG#{tag}[#{k}] / COUNTS      `ready`: READY images carrying the tag, sharded
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from infra.records import Image, ImageStatus, Position

TABLE_PK = "PK"
TABLE_SK = "SK"
GSI1 = "GSI1"
GSI2 = "GSI2"
GSI3 = "GSI3"
INDEXES: dict[str, tuple[str, str]] = {
    GSI1: ("GSI1PK", "GSI1SK"),
    GSI2: ("GSI2PK", "GSI2SK"),
    GSI3: ("GSI3PK", "GSI3SK"),
}
TTL_ATTRIBUTE = "expiresAt"

IMAGE_SK = "IMAGE"
IDEMPOTENCY_SK = "IDEMPOTENCY"
QUOTA_SK = "QUOTA"
FEED_BOUNDS_KEY = {TABLE_PK: "FEED", TABLE_SK: "BOUNDS"}
TAG_META_SK = "META"

# Statuses the cleanup job looks for (through GSI3), due at Image.cleanup_due_at.
CLEANUP_STATUSES = (
    ImageStatus.PENDING_UPLOAD,
    ImageStatus.PROCESSING,
    ImageStatus.REJECTED,
    ImageStatus.DELETED,
)


def format_instant(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601 with microseconds, so strings sort as instants."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def image_key(image_id: str) -> dict[str, str]:
    return {TABLE_PK: f"IMAGE#{image_id}", TABLE_SK: IMAGE_SK}


def tag_item_key(image_id: str, tag: str) -> dict[str, str]:
    return {TABLE_PK: f"IMAGE#{image_id}", TABLE_SK: f"TAG#{tag}"}


def idempotency_key(owner_id: str, key: str) -> dict[str, str]:
    # Hashed: client keys may be long or contain '#'; the owner keeps keys per viewer.
    digest = hashlib.sha256(key.encode()).hexdigest()
    return {TABLE_PK: f"IDEMPOTENCY#{owner_id}#{digest}", TABLE_SK: IDEMPOTENCY_SK}


def quota_key(owner_id: str) -> dict[str, str]:
    """A viewer's quota item: uploads charged and the current 24 h window's usage."""
    return {TABLE_PK: f"QUOTA#{owner_id}", TABLE_SK: QUOTA_SK}


def quota_release_key(owner_id: str, shard: int) -> dict[str, str]:
    """One shard of the uploads that left a viewer's pending count (infra/quotas.py).

    The shard is in the sort key too: owner ids may contain '#', so (PK, SK) never
    names both a viewer's quota item and another viewer's release shard.
    """
    return {
        TABLE_PK: f"QUOTA#{owner_id}#RELEASED#{shard}",
        TABLE_SK: f"{QUOTA_SK}#RELEASED#{shard}",
    }


def quota_release_keys(owner_id: str, shards: int) -> list[dict[str, str]]:
    return [quota_release_key(owner_id, shard) for shard in range(shards)]


COUNTS_SK = "COUNTS"
TAG_COUNT_ATTRIBUTE = "ready"


def owner_counter_key(owner_id: str, shard: int = 0) -> dict[str, str]:
    """One shard of an owner's image counts: a number per status (named by its value).

    Sharded (a hot account moves ~6 counter WCU per upload, docs/data-model.md); the
    count is the sum over the shards. Owner ids may contain '#', so the shard is also
    in the sort key: (PK, SK) never names two different (owner, shard) pairs.
    """
    if shard == 0:
        return {TABLE_PK: f"COUNTS#OWNER#{owner_id}", TABLE_SK: COUNTS_SK}
    return {TABLE_PK: f"COUNTS#OWNER#{owner_id}#{shard}", TABLE_SK: f"{COUNTS_SK}#{shard}"}


def owner_counter_keys(owner_id: str, shards: int) -> list[dict[str, str]]:
    return [owner_counter_key(owner_id, shard) for shard in range(max(1, shards))]


def tag_counter_key(tag: str, shard: int = 0) -> dict[str, str]:
    """One shard of a tag's READY-image count; the count is the sum over every shard.

    A hot tag takes a large share of all uploads, so increments go to the shard of the
    image id (shard_of); shard 0 is the unsuffixed key, like every sharded key here.
    """
    return {TABLE_PK: sharded(f"COUNTS#TAG#{tag}", shard), TABLE_SK: COUNTS_SK}


def tag_counter_keys(tag: str, shards: int) -> list[dict[str, str]]:
    """Every shard of a tag's count: what reading the count fetches (absent ones are 0)."""
    return [tag_counter_key(tag, shard) for shard in range(max(1, shards))]


def owner_partition(owner_id: str, status: ImageStatus) -> str:
    return f"OWNER#{owner_id}#{status.value}"


def tag_partition(tag: str, shard: int = 0) -> str:
    return sharded(f"TAG#{tag}", shard)


def tag_partitions(tag: str, shards: int) -> list[str]:
    """Every shard of a tag timeline (one for a cold tag): what a tag listing reads."""
    return [tag_partition(tag, shard) for shard in range(max(1, shards))]


def tag_meta_key(tag: str) -> dict[str, str]:
    """The tag's directory item: its shard count and the sampled write-rate window."""
    return {TABLE_PK: f"TAGMETA#{tag}", TABLE_SK: TAG_META_SK}


def feed_bucket(moment: datetime) -> str:
    """The month a READY image's global-timeline entry lives in, e.g. '2026-11'."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def feed_partition(bucket: str, shard: int = 0) -> str:
    return sharded(f"FEED#{bucket}", shard)


def feed_partitions(bucket: str, shards: int) -> list[str]:
    """Every shard of a feed month: what a feed read fans out over."""
    return [feed_partition(bucket, shard) for shard in range(max(1, shards))]


def shard_of(image_id: str, shards: int) -> int:
    """The write shard of an image's entry in a sharded partition, from its id alone.

    Deterministic (a hash of the id), so every write path and every later move or
    purge finds the same shard. Shard 0 is the unsuffixed key: a shard count of 1 is
    the unsharded layout, and raising the count keeps every stored entry in a shard
    that reads still visit (never lower it: entries in dropped shards would be missed).
    """
    if shards <= 1:
        return 0
    return int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:4], "big") % shards


def sharded(partition: str, shard: int) -> str:
    return partition if shard == 0 else f"{partition}#{shard}"


def cleanup_partition(status: ImageStatus, shard: int = 0) -> str:
    return sharded(f"CLEANUP#{status.value}", shard)


# Per status, the share of PICGRAPH_CLEANUP_SHARDS its partitions get: a cleanup read
# pays one Query per shard, so a status gets only the shards its write rate needs (at
# 10,000 uploads/s, scripts/bench_scale.py: PENDING_UPLOAD ~20,000 and PROCESSING ~18,000
# WCU/s, DELETED ~2,000, REJECTED ~100; the goal is <= 500 per key). Rounded up, so that
# raising the setting never lowers any status's count (see shard_of).
CLEANUP_SHARD_DIVISORS: dict[ImageStatus, int] = {
    ImageStatus.PENDING_UPLOAD: 1,
    ImageStatus.PROCESSING: 1,
    ImageStatus.DELETED: 8,
    ImageStatus.REJECTED: 64,
}


def cleanup_shard_count(status: ImageStatus, cleanup_shards: int) -> int:
    """How many write shards `status` has when PICGRAPH_CLEANUP_SHARDS is `cleanup_shards`."""
    divisor = CLEANUP_SHARD_DIVISORS.get(status, 1)
    return max(1, -(-cleanup_shards // divisor))


def cleanup_partitions(status: ImageStatus, cleanup_shards: int) -> list[str]:
    """Every shard of a cleanup status: what a cleanup read fans out over."""
    count = cleanup_shard_count(status, cleanup_shards)
    return [cleanup_partition(status, shard) for shard in range(count)]


def timeline_sort_key(created_at: datetime, image_id: str) -> str:
    return f"{format_instant(created_at)}#{image_id}"


def position_sort_key(position: Position) -> str:
    return timeline_sort_key(position.created_at, position.image_id)


def index_attributes(
    image: Image, *, cleanup_shards: int = 1, feed_shards: int = 1
) -> dict[str, str]:
    """The GSI attributes of an image item; absent ones keep the item out of that index.

    Every READY image of a month enters its feed month: that partition is write-sharded
    (`feed_shards`, PICGRAPH_FEED_SHARDS) by a hash of the image id.
    """
    sort_key = timeline_sort_key(image.created_at, image.id)
    attributes = {
        "GSI1PK": owner_partition(image.owner_id, image.status),
        "GSI1SK": sort_key,
    }
    if image.status is ImageStatus.READY:
        shard = shard_of(image.id, feed_shards)
        attributes["GSI2PK"] = feed_partition(feed_bucket(image.created_at), shard)
        attributes["GSI2SK"] = sort_key
    if image.status in CLEANUP_STATUSES and image.cleanup_due_at is not None:
        attributes.update(cleanup_index_key(image, cleanup_shards=cleanup_shards))
    return attributes


def cleanup_index_key(image: Image, *, cleanup_shards: int = 1) -> dict[str, str]:
    """Where an image sits in the cleanup index (GSI3): its partition and due-time sort key.

    Every upload enters CLEANUP#PENDING_UPLOAD and moves through CLEANUP#PROCESSING,
    so those partitions take a put and a delete per upload: they are write-sharded
    (`cleanup_shards`, PICGRAPH_CLEANUP_SHARDS) by a hash of the image id; the colder
    statuses get fewer shards (cleanup_shard_count).
    """
    due = image.cleanup_due_at
    assert due is not None
    shards = cleanup_shard_count(image.status, cleanup_shards)
    return {
        "GSI3PK": cleanup_partition(image.status, shard_of(image.id, shards)),
        "GSI3SK": f"{format_instant(due)}#{image.id}",
    }


def tag_index_attributes(image: Image, tag: str, *, shards: int = 1) -> dict[str, str]:
    """A tag entry's timeline keys; `shards` > 1 only for a hot tag (infra/tag_shards.py)."""
    return {
        "GSI1PK": tag_partition(tag, shard_of(image.id, shards)),
        "GSI1SK": timeline_sort_key(image.created_at, image.id),
    }


# Every S3 key an image may ever own is derivable from its id and createdAt alone (see
# object_keys): a crash between an S3 write and the DynamoDB write that would record the
# key can then never leave an object nobody can find. Adding a format or a rendition
# means adding it here; original_key and rendition_key refuse anything not listed.
ORIGINAL_EXTENSIONS = ("jpg", "png", "gif", "webp", "heic", "heif", "avif")
RENDITION_EXTENSIONS = ("jpg", "webp", "avif", "png")
RENDITION_SUFFIXES = {"thumbnail": "thumb", "medium": "medium", "feed": "feed"}


class UnknownObjectKeyError(ValueError):
    """A key outside the layout object_keys enumerates (it could be orphaned by a crash)."""


def original_key(image: Image, extension: str) -> str:
    if extension not in ORIGINAL_EXTENSIONS:
        raise UnknownObjectKeyError(f"no original key layout for extension {extension!r}")
    return f"images/{image.created_at:%Y}/{image.created_at:%m}/{image.id}.{extension}"


RENDITION_PREFIX = "thumbnails/"  # the only prefix a CDN serves


def is_rendition_key(key: str) -> bool:
    return key.startswith(RENDITION_PREFIX)


def rendition_key(image: Image, name: str, extension: str) -> str:
    suffix = RENDITION_SUFFIXES.get(name)
    if suffix is None or extension not in RENDITION_EXTENSIONS:
        raise UnknownObjectKeyError(f"no rendition key layout for {name!r} as {extension!r}")
    month = f"{image.created_at:%Y}/{image.created_at:%m}"
    return f"{RENDITION_PREFIX}{month}/{image.id}_{suffix}.{extension}"


def object_keys(image: Image) -> tuple[str, ...]:
    """Every S3 key this image may own, whatever was (or was not) recorded on its item.

    The staging key, the original in every allowed format, each rendition in every
    rendition format, and the keys the item references. Every deletion path (purge,
    reject, a lost or taken-over processing run, cleaning up after READY) deletes from
    this list, so an object written by a run that crashed before recording it, or by an
    earlier run that ended in another format, is always removed.
    """
    candidates = [image.staging_key]
    candidates.extend(original_key(image, extension) for extension in ORIGINAL_EXTENSIONS)
    candidates.extend(
        rendition_key(image, name, extension)
        for name in RENDITION_SUFFIXES
        for extension in RENDITION_EXTENSIONS
    )
    candidates.extend(image.stored_keys())
    return tuple(dict.fromkeys(candidates))


def image_id_from_staging_key(key: str) -> str | None:
    prefix = "uploads/"
    if not key.startswith(prefix):
        return None
    image_id = key[len(prefix) :]
    return image_id if image_id and "/" not in image_id else None

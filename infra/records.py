"""The records picgraph stores and lists: plain dataclasses, no I/O.

The domain's vocabulary; services re-export them from services.models.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime


class ImageStatus(enum.StrEnum):
    PENDING_UPLOAD = "PENDING_UPLOAD"
    PROCESSING = "PROCESSING"
    READY = "READY"
    REJECTED = "REJECTED"
    DELETED = "DELETED"


class SortOrder(enum.StrEnum):
    NEWEST_FIRST = "NEWEST_FIRST"
    OLDEST_FIRST = "OLDEST_FIRST"


@dataclass(frozen=True)
class Variant:
    """A stored rendition of an image."""

    name: str
    width: int
    height: int
    content_type: str
    size_bytes: int
    key: str
    # Which `Image.variants(format:)` list it belongs to: "JPEG" (the default list: JPEG,
    # or WebP with alpha for a transparent image), "WEBP" or "AVIF".
    format: str = "JPEG"


@dataclass(frozen=True)
class CameraMetadata:
    make: str | None = None
    model: str | None = None
    taken_at: datetime | None = None


@dataclass(frozen=True)
class Image:
    """One image and its whole lifecycle state (one DynamoDB item)."""

    id: str
    owner_id: str
    filename: str
    content_type: str
    declared_size: int
    created_at: datetime
    updated_at: datetime
    status: ImageStatus = ImageStatus.PENDING_UPLOAD
    version: int = 1
    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    checksum_sha256: str | None = None
    original_key: str | None = None
    variants: tuple[Variant, ...] = ()
    metadata: CameraMetadata | None = None
    placeholder: str | None = None  # ThumbHash of the upright image, base64
    dominant_color: str | None = None  # "#rrggbb"
    deleted_at: datetime | None = None
    rejection_code: str | None = None
    rejection_message: str | None = None
    processing_until: datetime | None = None
    # When the cleanup job may act on this image (pending expiry, purge time).
    cleanup_after: datetime | None = None

    @property
    def staging_key(self) -> str:
        return f"uploads/{self.id}"

    @property
    def cleanup_due_at(self) -> datetime | None:
        """When the cleanup job may act: a PROCESSING image when its lease expires (its
        processor died), any other state at cleanup_after."""
        if self.status is ImageStatus.PROCESSING:
            return self.processing_until
        return self.cleanup_after

    @property
    def is_public(self) -> bool:
        return self.status is ImageStatus.READY

    @property
    def aspect_ratio(self) -> float | None:
        """Width / height of the upright image once READY (a layout hint), else None."""
        if not self.is_public or not self.width or not self.height:
            return None
        return self.width / self.height

    def visible_to(self, viewer_id: str | None) -> bool:
        return self.is_public or (viewer_id is not None and viewer_id == self.owner_id)

    def stored_keys(self) -> tuple[str, ...]:
        """The S3 keys the item references (staging, original, renditions).

        Not necessarily every key the image owns: infra.keys.object_keys lists those,
        including objects a crashed run wrote before it could record them.
        """
        keys = [self.staging_key]
        if self.original_key:
            keys.append(self.original_key)
        keys.extend(variant.key for variant in self.variants)
        return tuple(keys)

    def evolve(self, **changes: object) -> Image:
        """A copy with changes and the next version number."""
        return replace(self, version=self.version + 1, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_size_bytes: int


@dataclass(frozen=True)
class StoredObject:
    key: str
    size_bytes: int
    content_type: str | None = None


@dataclass(frozen=True)
class ImageQuery:
    """A validated listing request; the partition comes from here, never from a cursor."""

    viewer_id: str
    owner_id: str | None = None
    tags: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    status: ImageStatus = ImageStatus.READY
    sort: SortOrder = SortOrder.NEWEST_FIRST


@dataclass(frozen=True)
class Position:
    """Where an item sits in a timeline: createdAt then id, a total order."""

    created_at: datetime
    image_id: str


@dataclass(frozen=True)
class ImagePage:
    """Up to `limit` images in walk order, whether more exist, and where to resume.

    `resume_after` is the exclusive position the next page in walk order starts from:
    the last returned image normally, the last item read when the read bound was hit
    (then it may lie beyond the last returned image), None when nothing was returned
    and nothing more exists.
    """

    images: tuple[Image, ...]
    has_more: bool
    resume_after: Position | None


@dataclass(frozen=True)
class IdempotencyRecord:
    """The image a viewer's idempotency key created, and a digest of that request."""

    image_id: str
    fingerprint: str | None  # None on records written before requests were fingerprinted

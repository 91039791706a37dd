"""The domain's vocabulary: the stored records (from infra) and processing results."""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.records import (
    CameraMetadata,
    IdempotencyRecord,
    Image,
    ImagePage,
    ImageQuery,
    ImageStatus,
    Position,
    PresignedPost,
    SortOrder,
    StoredObject,
    Variant,
)

__all__ = [
    "CameraMetadata",
    "IdempotencyRecord",
    "Image",
    "ImagePage",
    "ImageQuery",
    "ImageStatus",
    "Position",
    "PresignedPost",
    "ProcessedImage",
    "Rendition",
    "SortOrder",
    "StoredObject",
    "Variant",
]


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    content_type: str
    extension: str
    data: bytes
    format: str = "JPEG"  # the variants(format:) list it belongs to, see Variant.format


@dataclass(frozen=True)
class ProcessedImage:
    """What image processing learned from the bytes, plus the renditions to store."""

    format: str  # detected, e.g. "JPEG", "PNG", "WEBP", "GIF", "HEIF"
    content_type: str  # detected from the bytes
    extension: str  # for the original's key, e.g. "jpg"
    width: int  # upright (EXIF orientation applied)
    height: int
    checksum_sha256: str
    metadata: CameraMetadata
    renditions: tuple[Rendition, ...] = field(default=())  # smallest first, per format
    placeholder: str | None = None  # ThumbHash (base64) of the smallest rendition
    dominant_color: str | None = None  # "#rrggbb"

"""GraphQL enums: the domain's enums exposed under their schema names, and ImageFormat."""

from __future__ import annotations

import enum

import strawberry

from services.errors import ErrorCode
from services.models import ImageStatus as ImageStatusModel
from services.models import SortOrder

ImageStatus = strawberry.enum(ImageStatusModel, name="ImageStatus")
ImageSort = strawberry.enum(SortOrder, name="ImageSort")
UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode")


@strawberry.enum(description="Encoding of the renditions returned by variants and thumbnail.")
class ImageFormat(enum.Enum):
    JPEG = strawberry.enum_value(
        "JPEG", description="JPEG; WebP with alpha for a transparent image. Every browser."
    )
    WEBP = strawberry.enum_value(
        "WEBP", description="WebP: smaller than JPEG; every current browser."
    )
    AVIF = strawberry.enum_value(
        "AVIF", description="AVIF: the smallest files; browsers since 2022-2024."
    )

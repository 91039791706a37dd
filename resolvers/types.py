"""GraphQL object types, built from the domain models with from_model(), and their field
resolvers (enums: resolvers/enums.py; connections: resolvers/connections.py; the parts
mutation payloads share: resolvers/payloads.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import strawberry

from resolvers.enums import ImageFormat, ImageStatus
from services.models import CameraMetadata as CameraMetadataModel
from services.models import Image as ImageModel
from services.models import Variant

if TYPE_CHECKING:
    from resolvers.context import Context


@strawberry.interface(description="Relay object identification.")
class Node:
    id: strawberry.ID


@strawberry.type(description="A derived rendition of an image (thumbnail, feed sizes).")
class ImageVariant:
    name: str = strawberry.field(description='Stable name of the rendition, e.g. "thumbnail".')
    width: int
    height: int
    content_type: str
    size_bytes: int
    model: strawberry.Private[Variant]

    @classmethod
    def from_model(cls, variant: Variant) -> ImageVariant:
        return cls(
            name=variant.name,
            width=variant.width,
            height=variant.height,
            content_type=variant.content_type,
            size_bytes=variant.size_bytes,
            model=variant,
        )

    @strawberry.field(
        description=(
            "GET URL of the rendition (presigned S3, or the CDN). The same URL for a whole\n"
            "signing window (PICGRAPH_URL_WINDOW_SECONDS), so browsers and CDNs can cache it;\n"
            "valid at least PICGRAPH_DOWNLOAD_URL_SECONDS after it is returned."
        )
    )
    def url(self, info: strawberry.Info[Context, None]) -> str:
        return _variant_url(self, info.context)


@strawberry.type(
    description="Metadata read from the original file. Location data is never exposed."
)
class ImageMetadata:
    camera_make: str | None
    camera_model: str | None
    taken_at: datetime | None

    @classmethod
    def from_model(cls, metadata: CameraMetadataModel) -> ImageMetadata:
        return cls(
            camera_make=metadata.make, camera_model=metadata.model, taken_at=metadata.taken_at
        )


FormatArgument = Annotated[
    ImageFormat,
    strawberry.argument(
        description="Encoding of the renditions. JPEG (the default) works everywhere; an "
        "image processed before WEBP or AVIF were offered has none in those formats."
    ),
]


@strawberry.type
class Image(Node):
    id: strawberry.ID
    owner_id: strawberry.ID
    title: str | None
    description: str | None
    tags: list[str] = strawberry.field(
        description="Normalised tags (trimmed, case-folded, unique)."
    )
    status: ImageStatus  # type: ignore[valid-type]
    filename: str
    content_type: str = strawberry.field(
        description="Declared at upload; after processing, the type detected from the bytes."
    )
    size_bytes: int | None
    width: int | None = strawberry.field(
        description="Pixel size after EXIF orientation is applied; null until READY."
    )
    height: int | None
    checksum_sha256: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    metadata: ImageMetadata | None
    aspect_ratio: float | None = strawberry.field(
        description="width / height of the upright image, to lay out a grid before any pixels "
        "arrive; null until READY."
    )
    placeholder: str | None = strawberry.field(
        description="ThumbHash (https://evanw.github.io/thumbhash/) of the upright image, "
        "base64: decode it into a blurred preview while the image loads; null until READY."
    )
    dominant_color: str | None = strawberry.field(
        description='Most common colour of the image, "#rrggbb"; null until READY.'
    )
    model: strawberry.Private[ImageModel]

    @classmethod
    def from_model(cls, image: ImageModel) -> Image:
        ready = image.is_public
        return cls(
            id=strawberry.ID(image.id),
            owner_id=strawberry.ID(image.owner_id),
            title=image.title,
            description=image.description,
            tags=list(image.tags),
            status=image.status,
            filename=image.filename,
            content_type=image.content_type,
            size_bytes=image.size_bytes,
            width=image.width,
            height=image.height,
            checksum_sha256=image.checksum_sha256,
            created_at=image.created_at,
            updated_at=image.updated_at,
            deleted_at=image.deleted_at,
            metadata=None if image.metadata is None else ImageMetadata.from_model(image.metadata),
            aspect_ratio=image.aspect_ratio,
            placeholder=image.placeholder if ready else None,
            dominant_color=image.dominant_color if ready else None,
            model=image,
        )

    @strawberry.field(
        description=(
            "Presigned GET URL of the original bytes as uploaded (the same URL for a whole\n"
            "signing window, like variants' URLs); null unless\n"
            "READY and the viewer is the owner (originals may carry location data).\n"
            "Everyone else uses variants, which carry no EXIF location."
        )
    )
    def url(self, info: strawberry.Info[Context, None]) -> str | None:
        return _original_url(self, info.context)

    @strawberry.field(description="Smallest variant; null unless READY.")
    def thumbnail(
        self,
        info: strawberry.Info[Context, None],
        format: FormatArgument = ImageFormat.JPEG,
    ) -> ImageVariant | None:
        return _thumbnail(self, info, format)

    @strawberry.field(
        description=(
            "Re-encoded renditions, smallest first, orientation applied, no EXIF location; "
            "empty unless READY."
        )
    )
    def variants(
        self,
        info: strawberry.Info[Context, None],
        format: FormatArgument = ImageFormat.JPEG,
    ) -> list[ImageVariant]:
        return _variants(self, info, format)


class WithContext(Protocol):
    """strawberry.Info or graphql-core's resolve info: all these resolvers read."""

    @property
    def context(self) -> Context: ...


# The resolvers of the fields above, without Strawberry's per-call wrapping (which
# converts arguments and builds a strawberry.Info for fields that need neither): the
# schema installs these as graphql-core resolvers (resolvers/schema.py). A URL is
# signed only when a query selects it.
def _original_url(image: Image, context: Context) -> str | None:
    return context.app.reader.original_url(context.viewer_id or "", image.model)


def _variant_url(variant: ImageVariant, context: Context) -> str:
    return context.app.reader.variant_url(variant.model)


def _variants(
    image: Image, info: WithContext, format: object = ImageFormat.JPEG
) -> list[ImageVariant]:
    # graphql-core passes the enum's value ("JPEG"), Strawberry the member.
    variants = info.context.app.reader.variants(image.model, ImageFormat(format).name)
    return [ImageVariant.from_model(variant) for variant in variants]


def _thumbnail(
    image: Image, info: WithContext, format: object = ImageFormat.JPEG
) -> ImageVariant | None:
    variants = info.context.app.reader.variants(image.model, ImageFormat(format).name)
    return ImageVariant.from_model(variants[0]) if variants else None


# (type, field) -> a resolver of (source, context), for leaf fields.
CONTEXT_RESOLVERS: dict[tuple[str, str], Callable[[Any, Context], Any]] = {
    ("Image", "url"): _original_url,
    ("ImageVariant", "url"): _variant_url,
}
# (type, field) -> a graphql-core resolver of (source, info, **arguments).
DIRECT_RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("Image", "thumbnail"): _thumbnail,
    ("Image", "variants"): _variants,
}


ImageId = Annotated[strawberry.ID, strawberry.argument(description="An image id.")]

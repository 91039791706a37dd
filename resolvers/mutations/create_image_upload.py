"""createImageUpload: reserve an image and get a presigned POST for its bytes."""

from __future__ import annotations

import strawberry

from resolvers.context import Context
from resolvers.payloads import PresignedUpload, UserError
from resolvers.types import Image
from services.errors import DomainError


@strawberry.input
class CreateImageUploadInput:
    filename: str
    content_type: str
    size_bytes: int
    title: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    idempotency_key: str | None = strawberry.field(
        default=None,
        description=(
            "Repeating the same create with the same key (same viewer, within 24 h) returns "
            "the same image; a different request under a used key, or a key whose image was "
            "deleted or rejected, is a CONFLICT."
        ),
    )


@strawberry.type
class CreateImageUploadPayload:
    image: Image | None = None
    upload: PresignedUpload | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def create_image_upload(
    info: strawberry.Info[Context, None], input: CreateImageUploadInput
) -> CreateImageUploadPayload:
    viewer_id = info.context.require_viewer()
    try:
        ticket = info.context.app.uploads.create_upload(
            viewer_id,
            filename=input.filename,
            content_type=input.content_type,
            size_bytes=input.size_bytes,
            title=input.title,
            description=input.description,
            tags=input.tags,
            idempotency_key=input.idempotency_key,
        )
    except DomainError as error:
        return CreateImageUploadPayload(user_errors=UserError.list_from(error))
    return CreateImageUploadPayload(
        image=Image.from_model(ticket.image),
        upload=None if ticket.upload is None else PresignedUpload.from_model(ticket.upload),
    )

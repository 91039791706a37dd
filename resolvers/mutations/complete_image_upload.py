"""completeImageUpload: validate and process the uploaded object (idempotent)."""

from __future__ import annotations

import strawberry

from resolvers.context import Context
from resolvers.mutations.ids import unknown_image_errors
from resolvers.payloads import UserError
from resolvers.types import Image
from services.errors import DomainError


@strawberry.type
class CompleteImageUploadPayload:
    image: Image | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def complete_image_upload(
    info: strawberry.Info[Context, None], id: strawberry.ID
) -> CompleteImageUploadPayload:
    viewer_id = info.context.require_viewer()
    if (unknown := unknown_image_errors(id)) is not None:
        return CompleteImageUploadPayload(user_errors=unknown)
    try:
        completion = info.context.app.uploads.complete_upload(viewer_id, id)
    except DomainError as error:
        return CompleteImageUploadPayload(user_errors=UserError.list_from(error))
    return CompleteImageUploadPayload(
        image=Image.from_model(completion.image),
        user_errors=[] if completion.error is None else UserError.list_from(completion.error),
    )

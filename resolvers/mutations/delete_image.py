"""deleteImage: owner only; soft delete, idempotent."""

from __future__ import annotations

import strawberry

from resolvers.context import Context
from resolvers.mutations.ids import unknown_image_errors
from resolvers.payloads import UserError
from resolvers.types import Image
from services.errors import DomainError


@strawberry.type
class DeleteImagePayload:
    image: Image | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def delete_image(info: strawberry.Info[Context, None], id: strawberry.ID) -> DeleteImagePayload:
    viewer_id = info.context.require_viewer()
    if (unknown := unknown_image_errors(id)) is not None:
        return DeleteImagePayload(user_errors=unknown)
    try:
        image = info.context.app.deletion.delete_image(viewer_id, id)
    except DomainError as error:
        return DeleteImagePayload(user_errors=UserError.list_from(error))
    return DeleteImagePayload(image=Image.from_model(image))

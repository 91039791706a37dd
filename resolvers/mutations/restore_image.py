"""restoreImage: owner only; undo a soft delete before cleanup purges it."""

from __future__ import annotations

import strawberry

from resolvers.context import Context
from resolvers.mutations.ids import unknown_image_errors
from resolvers.payloads import UserError
from resolvers.types import Image
from services.errors import DomainError


@strawberry.type
class RestoreImagePayload:
    image: Image | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def restore_image(info: strawberry.Info[Context, None], id: strawberry.ID) -> RestoreImagePayload:
    viewer_id = info.context.require_viewer()
    if (unknown := unknown_image_errors(id)) is not None:
        return RestoreImagePayload(user_errors=unknown)
    try:
        image = info.context.app.deletion.restore_image(viewer_id, id)
    except DomainError as error:
        return RestoreImagePayload(user_errors=UserError.list_from(error))
    return RestoreImagePayload(image=Image.from_model(image))

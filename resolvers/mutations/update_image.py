"""updateImage: the owner edits title, description and tags."""

from __future__ import annotations

import strawberry

from resolvers.context import Context
from resolvers.mutations.ids import unknown_image_errors
from resolvers.payloads import UserError
from resolvers.types import Image
from services.errors import DomainError


@strawberry.input
class UpdateImageInput:
    title: str | None = None
    description: str | None = None
    tags: list[str] | None = None


@strawberry.type
class UpdateImagePayload:
    image: Image | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def update_image(
    info: strawberry.Info[Context, None], id: strawberry.ID, input: UpdateImageInput
) -> UpdateImagePayload:
    viewer_id = info.context.require_viewer()
    if (unknown := unknown_image_errors(id)) is not None:
        return UpdateImagePayload(user_errors=unknown)
    try:
        image = info.context.app.updates.update_image(
            viewer_id, id, title=input.title, description=input.description, tags=input.tags
        )
    except DomainError as error:
        return UpdateImagePayload(user_errors=UserError.list_from(error))
    return UpdateImagePayload(image=Image.from_model(image))

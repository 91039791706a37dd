"""Ids arrive from clients: one that no image can have is NOT_FOUND before any read."""

from __future__ import annotations

from resolvers.payloads import UserError
from services.errors import NotFoundError
from services.ids import is_image_id


def unknown_image_errors(image_id: str) -> list[UserError] | None:
    """The userErrors for an impossible id (too long, empty, control characters), else None."""
    if is_image_id(image_id):
        return None
    return [UserError.from_error(NotFoundError("Image not found.", field=("id",)))]

"""Who may see and change an image: one rule, used by every operation."""

from __future__ import annotations

from services.errors import ForbiddenError, NotFoundError
from services.models import Image


def owned_image(image: Image | None, viewer_id: str) -> Image:
    """The image if the viewer owns it; else NOT_FOUND or FORBIDDEN.

    Another viewer learns only what they could already see: FORBIDDEN for a
    publicly visible image, NOT_FOUND for one they may not know exists.
    """
    if image is None or not image.visible_to(viewer_id):
        raise NotFoundError("Image not found.", field=("id",))
    if image.owner_id != viewer_id:
        raise ForbiddenError("Only the owner can change this image.", field=("id",))
    return image

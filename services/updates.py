"""Owners edit an image's title, description and tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from services.access import owned_image
from services.errors import ConflictError, StaleImageError
from services.models import Image, ImageStatus
from services.ports import Clock, ImageRepository
from services.validation import DetailsChange, validate_details

_ATTEMPTS = 5


class UpdateService:
    def __init__(self, *, repository: ImageRepository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock

    def update_image(
        self,
        viewer_id: str,
        image_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> Image:
        """Apply a partial change; concurrent edits merge (each re-applied on the latest).

        Access is checked before the input, so a stranger learns nothing from errors.
        """
        change: DetailsChange | None = None
        for _ in range(_ATTEMPTS):
            image = owned_image(self._repository.get(image_id), viewer_id)
            if change is None:
                change = validate_details(title=title, description=description, tags=tags)
            if image.status in (ImageStatus.DELETED, ImageStatus.REJECTED):
                raise ConflictError(
                    f"A {image.status.value.lower()} image cannot be edited.", field=("id",)
                )
            updated = _apply(image, change)
            if updated == image:
                return image
            updated = updated.evolve(updated_at=self._clock.now())
            try:
                self._repository.save(updated, previous=image)
            except StaleImageError:
                continue
            return updated
        raise ConflictError("The image is being changed by someone else; try again.", field=("id",))


def _apply(image: Image, change: DetailsChange) -> Image:
    return replace(
        image,
        title=None if change.clear_title else (change.title or image.title),
        description=None if change.clear_description else (change.description or image.description),
        tags=image.tags if change.tags is None else change.tags,
    )

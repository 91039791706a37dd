"""Soft delete and restore. The bytes stay until cleanup purges them after retention."""

from __future__ import annotations

from datetime import timedelta

from services.access import owned_image
from services.errors import ConflictError, NotFoundError, StaleImageError
from services.models import Image, ImageStatus
from services.ports import Clock, ImageRepository

_ATTEMPTS = 5


class DeletionService:
    def __init__(
        self, *, repository: ImageRepository, clock: Clock, retention_days: int
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._retention = timedelta(days=retention_days)

    def delete_image(self, viewer_id: str, image_id: str) -> Image:
        """Hide at once from everyone but the owner; deleting twice is not an error."""
        for _ in range(_ATTEMPTS):
            image = owned_image(self._repository.get(image_id), viewer_id)
            if image.status is ImageStatus.DELETED:
                return image
            now = self._clock.now()
            deleted = image.evolve(
                status=ImageStatus.DELETED,
                deleted_at=now,
                updated_at=now,
                processing_until=None,
                cleanup_after=now + self._retention,
            )
            try:
                self._repository.save(deleted, previous=image)
            except StaleImageError:
                continue
            return deleted
        raise ConflictError("The image is being changed by someone else; try again.", field=("id",))

    def restore_image(self, viewer_id: str, image_id: str) -> Image:
        """DELETED -> READY with its tags and renditions, while retention lasts."""
        for _ in range(_ATTEMPTS):
            image = owned_image(self._repository.get(image_id), viewer_id)
            if image.status is not ImageStatus.DELETED:
                raise ConflictError("Only a deleted image can be restored.", field=("id",))
            now = self._clock.now()
            if image.cleanup_after is not None and image.cleanup_after <= now:
                raise NotFoundError("Image not found.", field=("id",))
            if image.original_key is None or not image.variants:
                raise ConflictError(
                    "This image was deleted before its upload was processed; upload it again.",
                    field=("id",),
                )
            restored = image.evolve(
                status=ImageStatus.READY, deleted_at=None, cleanup_after=None, updated_at=now
            )
            try:
                self._repository.save(restored, previous=image)
            except StaleImageError:
                continue
            return restored
        raise ConflictError("The image is being changed by someone else; try again.", field=("id",))

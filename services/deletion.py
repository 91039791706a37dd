"""Soft delete and restore. The bytes stay until cleanup purges them after retention.

deleteImage marks an image DELETED in one conditional write: it leaves every public
listing (owner READY partition, tag timelines, global feed) and image(id) for other
viewers at once, and stays visible to its owner (the trash: status DELETED). Its
cleanup_after is deleted_at + PICGRAPH_DELETE_RETENTION_DAYS; restoreImage is allowed
while cleanup_after lies in the future, and services/cleanup.py purges it a grace
period after that, so that a restore and a purge never overlap. See docs/lifecycle.md.
"""

from __future__ import annotations

from datetime import timedelta

from services.access import owned_image
from services.errors import ConflictError, NotFoundError, StaleImageError
from services.models import Image, ImageStatus
from services.ports import Clock, ImageRepository

_ATTEMPTS = 5


class DeletionService:
    def __init__(self, *, repository: ImageRepository, clock: Clock, retention_days: int) -> None:
        self._repository = repository
        self._clock = clock
        self._retention = timedelta(days=retention_days)

    def delete_image(self, viewer_id: str, image_id: str) -> Image:
        """Hide at once from everyone but the owner; deleting twice is not an error.

        Any status may be deleted. A PENDING_UPLOAD or PROCESSING image cannot come
        back: processing finishes only with a write conditional on the version it
        claimed, and on losing it removes what it wrote (services/uploads.py). A
        second delete returns the image as it is (deleted_at and retention unchanged).
        """
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
        """DELETED -> READY with its tags, indexes and renditions, while retention lasts.

        - not DELETED: CONFLICT (there is nothing to undo);
        - retention over (cleanup_after reached) or already purged: NOT_FOUND, as if
          the purge had happened (it will, a grace period later);
        - deleted before it was ever processed (PENDING_UPLOAD, PROCESSING or REJECTED
          when deleted, so no original and no renditions): CONFLICT. Such an image has
          nothing to show; making it PENDING_UPLOAD again would need a new upload URL
          (which this mutation does not return) and its staging object may already be
          gone, so the owner simply uploads the file again.
        """
        for _ in range(_ATTEMPTS):
            image = owned_image(self._repository.get(image_id), viewer_id)
            if image.status is not ImageStatus.DELETED:
                raise ConflictError("Only a deleted image can be restored.", field=("id",))
            now = self._clock.now()
            if image.cleanup_after is not None and image.cleanup_after <= now:
                raise NotFoundError("Image not found.", field=("id",))
            if image.original_key is None or not image.variants:
                raise ConflictError(
                    "This image was deleted before its upload was processed, so there is "
                    "nothing to restore; upload it again.",
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

"""Reserving an upload slot: createImageUpload, and replays of its idempotency key.

A new upload is a PENDING_UPLOAD image (and, with an idempotency key, its record, and
its charge to the viewer's quota: services/quotas.py), written in one transaction, plus
a presigned POST for its staging key; services/upload_processing.py takes it from there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from infra.settings import Settings
from services.errors import ConflictError, ImageAlreadyExistsError
from services.models import IdempotencyRecord, Image, ImageStatus, PresignedPost
from services.ports import Clock, ImageRepository, ObjectStore
from services.quotas import QuotaLimits, QuotaService
from services.validation import UploadRequest, validate_upload


@dataclass(frozen=True)
class UploadTicket:
    image: Image
    upload: PresignedPost | None


class UploadRequests:
    def __init__(
        self,
        *,
        repository: ImageRepository,
        store: ObjectStore,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._repository = repository
        self._store = store
        self._clock = clock
        self._settings = settings
        self._quotas = QuotaService(
            repository=repository, clock=clock, limits=QuotaLimits.from_settings(settings)
        )

    def create_upload(
        self,
        viewer_id: str,
        *,
        filename: str,
        content_type: str,
        size_bytes: int,
        title: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> UploadTicket:
        request = validate_upload(
            filename=filename,
            content_type=content_type,
            size_bytes=size_bytes,
            title=title,
            description=description,
            tags=tags,
            idempotency_key=idempotency_key,
            max_upload_bytes=self._settings.max_upload_bytes,
        )
        if request.idempotency_key is not None:
            existing = self._repository.find_by_idempotency_key(viewer_id, request.idempotency_key)
            if existing is not None:
                return self._replay(viewer_id, existing, request)
        now = self._clock.now()
        image = Image(
            id=str(uuid.uuid4()),
            owner_id=viewer_id,
            filename=request.filename,
            content_type=request.content_type,
            declared_size=request.size_bytes,
            title=request.title,
            description=request.description,
            tags=request.tags,
            created_at=now,
            updated_at=now,
            cleanup_after=now + timedelta(hours=self._settings.pending_upload_hours),
        )
        try:
            self._quotas.create_within_quota(
                image,
                lambda charge: self._repository.create(
                    image,
                    idempotency_key=request.idempotency_key,
                    fingerprint=None if request.idempotency_key is None else request.fingerprint,
                    quota=charge,
                ),
            )
        except ImageAlreadyExistsError:
            if request.idempotency_key is None:
                raise
            # A concurrent create with the same key won: answer as its replay would.
            record = self._repository.find_by_idempotency_key(viewer_id, request.idempotency_key)
            if record is None:
                raise
            return self._replay(viewer_id, record, request)
        return UploadTicket(image=image, upload=self._upload_target(image))

    def _replay(
        self, viewer_id: str, record: IdempotencyRecord, request: UploadRequest
    ) -> UploadTicket:
        """The same key again: the same image, if the request is the same one.

        A different request under a used key, and a key whose image was deleted or
        rejected, are CONFLICTs: the caller must not believe it holds a fresh upload.
        """
        field = ("input", "idempotencyKey")
        image = self._repository.get(record.image_id)
        if image is None or image.owner_id != viewer_id:
            raise ConflictError(
                "This idempotencyKey belongs to an image that no longer exists; use a new key.",
                field=field,
            )
        same_request = (
            (image.filename, image.declared_size) == (request.filename, request.size_bytes)
            if record.fingerprint is None  # recorded before requests were fingerprinted
            else record.fingerprint == request.fingerprint
        )
        if not same_request:
            raise ConflictError(
                "This idempotencyKey was already used for a different upload (the filename, "
                "contentType, sizeBytes, title, description or tags differ); use a new key.",
                field=field,
            )
        if image.status is ImageStatus.DELETED:
            raise ConflictError(
                f"The image this idempotencyKey created ({image.id}) was deleted; restore it "
                "with restoreImage, or use a new key to upload again.",
                field=field,
            )
        if image.status is ImageStatus.REJECTED:
            reason = image.rejection_message or "the file was not a valid image"
            raise ConflictError(
                f"The upload this idempotencyKey created ({image.id}) was rejected ({reason}); "
                "use a new key to upload again.",
                field=field,
            )
        if (
            image.status is ImageStatus.PENDING_UPLOAD
            and image.cleanup_after is not None
            and image.cleanup_after <= self._clock.now()
        ):
            # Abandoned: completing it is refused and the purge removes it, so a fresh
            # upload target for it would be a URL that can only lose its bytes.
            raise ConflictError(
                f"The upload this idempotencyKey created ({image.id}) has expired; "
                "use a new key to upload again.",
                field=field,
            )
        upload = self._upload_target(image) if image.status is ImageStatus.PENDING_UPLOAD else None
        return UploadTicket(image=image, upload=upload)

    def _upload_target(self, image: Image) -> PresignedPost:
        return self._store.presign_post(
            image.staging_key,
            content_type=image.content_type,
            max_size_bytes=min(image.declared_size, self._settings.max_upload_bytes),
            expires_in=self._settings.upload_url_seconds,
        )

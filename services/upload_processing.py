"""Processing what arrived: validate and render an upload, exactly once.

PENDING_UPLOAD -> PROCESSING -> READY | REJECTED. Exactly one caller processes an
image: the PENDING_UPLOAD -> PROCESSING change is a conditional write, and a run
that died in PROCESSING can be taken over once its lease has expired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from infra import keys
from infra.errors import ObjectNotFoundError
from infra.settings import Settings
from services.access import owned_image
from services.errors import (
    ConflictError,
    DomainError,
    ErrorCode,
    InvalidImageError,
    StaleImageError,
    UploadNotFoundError,
    UploadTooLargeError,
    error_for_code,
)
from services.models import Image, ImageStatus, ProcessedImage, Variant
from services.ports import Clock, ImageProcessor, ImageRepository, ObjectStore

logger = logging.getLogger("picgraph.uploads")

_FINALIZE_ATTEMPTS = 3
EMPTY_UPLOAD_MESSAGE = "The uploaded file is empty."


@dataclass(frozen=True)
class Completion:
    """The image's state after a completion attempt, and why it failed if it did."""

    image: Image
    error: DomainError | None = None


class UploadProcessing:
    def __init__(
        self,
        *,
        repository: ImageRepository,
        store: ObjectStore,
        processor: Callable[[], ImageProcessor],
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._repository = repository
        self._store = store
        self._processor = processor  # a factory: Pillow is imported only when needed
        self._clock = clock
        self._settings = settings

    def complete_upload(self, viewer_id: str, image_id: str) -> Completion:
        image = owned_image(self._repository.get(image_id), viewer_id)
        return self.process(image)

    def process_staged_object(self, key: str) -> Completion | None:
        """An S3 ObjectCreated event for a staging key (at least once, in any order)."""
        image_id = keys.image_id_from_staging_key(key)
        if image_id is None:
            logger.warning("ignoring object outside the staging prefix", extra={"key": key})
            return None
        image = self._repository.get(image_id)
        if image is None or image.status in (ImageStatus.READY, ImageStatus.DELETED):
            # A late or repeated POST to an old upload URL: what is served never
            # comes from the staging key, so the stray bytes are simply dropped.
            self._store.delete_many([key])
            return None if image is None else Completion(image)
        return self.process(image)

    def process(self, image: Image) -> Completion:
        if image.status is ImageStatus.REJECTED:
            return Completion(image, _rejection_error(image))
        if image.status in (ImageStatus.READY, ImageStatus.DELETED):
            return Completion(image)
        now = self._clock.now()
        if image.status is ImageStatus.PROCESSING and (
            image.processing_until is None or image.processing_until > now
        ):
            return Completion(image)
        if image.cleanup_after is not None and image.cleanup_after <= now:
            # Abandoned: the cleanup job purges it (every key it may own) a grace period
            # from now, so no run may start writing keys for it any more.
            return Completion(image, _expired_error())
        lease = now + timedelta(seconds=self._settings.processing_lease_seconds)
        claimed = image.evolve(
            status=ImageStatus.PROCESSING, processing_until=lease, updated_at=now
        )
        try:
            self._repository.save(claimed, previous=image)
        except StaleImageError:
            current = self._repository.get(image.id)
            return Completion(current or image)
        try:
            return self._process_claimed(claimed)
        except ObjectNotFoundError:
            # The staging object vanished mid-run: another run finished (and removed
            # it) after our lease had expired, or the owner deleted the image.
            latest = self._repository.get(claimed.id)
            if not _still_ours(latest, claimed):
                return Completion(latest or claimed)
            return self._release_missing(claimed)

    def _process_claimed(self, claimed: Image) -> Completion:
        staged = self._store.head(claimed.staging_key)
        if staged is None:
            return self._release_missing(claimed)
        limit = min(claimed.declared_size, self._settings.max_upload_bytes)
        if staged.size_bytes > limit:
            return self._reject(
                claimed,
                UploadTooLargeError(
                    f"The uploaded file is {staged.size_bytes} bytes; at most {limit} are allowed."
                ),
            )
        data = (
            b""
            if staged.size_bytes == 0
            else self._store.read(claimed.staging_key, max_bytes=limit)
        )
        if not data:
            # S3 answers a ranged GET of an empty object with InvalidRange: never ask.
            return self._reject(claimed, InvalidImageError(EMPTY_UPLOAD_MESSAGE))
        try:
            processed = self._processor().process(data)
        except DomainError as error:
            return self._reject(claimed, error)
        return self._store_and_finish(claimed, processed, data)

    def _store_and_finish(
        self, claimed: Image, processed: ProcessedImage, data: bytes
    ) -> Completion:
        original_key = keys.original_key(claimed, processed.extension)
        # The validated bytes themselves, not a copy of the staging key: the upload URL
        # stays valid for minutes, and a second POST must never change what is served.
        self._store.write(original_key, data, content_type=processed.content_type)
        variants = []
        for rendition in processed.renditions:
            key = keys.rendition_key(claimed, rendition.name, rendition.extension)
            self._store.write(key, rendition.data, content_type=rendition.content_type)
            variants.append(
                Variant(
                    name=rendition.name,
                    width=rendition.width,
                    height=rendition.height,
                    content_type=rendition.content_type,
                    size_bytes=len(rendition.data),
                    key=key,
                    format=rendition.format,
                )
            )
        written = (original_key, *(variant.key for variant in variants))
        # What an earlier run wrote in another format (it crashed, or lost its lease,
        # before it could record its keys) must go too.
        stale = [
            key
            for key in keys.object_keys(claimed)
            if key not in written and key != claimed.staging_key
        ]
        after_ready = [claimed.staging_key]
        if self._lease_mostly_left(claimed):
            # Before READY, so that a crash from here on leaves at most the staging
            # object (the bucket's lifecycle rule expires it). Only while half the
            # lease is left: then no other run can have taken over and written keys.
            self._store.delete_many(stale)
        else:
            after_ready.extend(stale)  # only the run that wins READY may delete them
        current = claimed
        for _ in range(_FINALIZE_ATTEMPTS):
            ready = current.evolve(
                status=ImageStatus.READY,
                content_type=processed.content_type,
                size_bytes=len(data),
                width=processed.width,
                height=processed.height,
                checksum_sha256=processed.checksum_sha256,
                original_key=original_key,
                variants=tuple(variants),
                metadata=processed.metadata,
                placeholder=processed.placeholder,
                dominant_color=processed.dominant_color,
                processing_until=None,
                cleanup_after=None,
                updated_at=self._clock.now(),
            )
            try:
                self._repository.save(ready, previous=current)
            except StaleImageError:
                latest = self._repository.get(claimed.id)
                if not _still_ours(latest, claimed):
                    return self._abandon(claimed, latest, written)
                assert latest is not None
                current = latest  # e.g. the owner edited the title meanwhile: keep it
                continue
            self._store.delete_many(after_ready)
            return Completion(ready)
        raise ConflictError("The image kept changing while it was processed; try again.")

    def _lease_mostly_left(self, claimed: Image) -> bool:
        assert claimed.processing_until is not None
        half = timedelta(seconds=self._settings.processing_lease_seconds / 2)
        return claimed.processing_until - self._clock.now() >= half

    def _abandon(self, claimed: Image, latest: Image | None, written: Sequence[str]) -> Completion:
        """Someone else decided this image's fate meanwhile (deleted, rejected, took over).

        A deleted, rejected or purged image gives up every key it may own
        (keys.object_keys), never those the stored image still references: a
        restorable image needs them. An image another run finished (READY) loses only
        what this run wrote and the finished one does not serve (another format).
        Released or re-claimed, it is left alone: whichever run ends its processing
        removes every stale key then.
        """
        if latest is None or latest.status in (ImageStatus.DELETED, ImageStatus.REJECTED):
            current = latest or claimed
            kept = set(current.stored_keys()) - {current.staging_key} if latest else set()
            owned = (*keys.object_keys(current), *written)
            self._store.delete_many([key for key in owned if key not in kept])
        elif latest.status is ImageStatus.READY:
            kept = set(latest.stored_keys())
            self._store.delete_many([key for key in written if key not in kept])
        return Completion(latest or claimed)

    def _release_missing(self, claimed: Image) -> Completion:
        """Nothing was uploaded (yet): back to PENDING_UPLOAD, so completing can be retried."""
        released = claimed.evolve(status=ImageStatus.PENDING_UPLOAD, processing_until=None)
        current = self._save_or_current(released, claimed)
        error = UploadNotFoundError(
            "No uploaded file was found. Send the file to the upload URL first, "
            "then complete the upload.",
            field=("id",),
        )
        return Completion(current, error if current is released else None)

    def _reject(self, claimed: Image, error: DomainError) -> Completion:
        """REJECTED first, then every key it may own goes (the staging bytes, and any
        output of an earlier run that crashed): a crash in between leaves a REJECTED
        item that the purge cleans completely, and a lost condition removes nothing
        another run may still need."""
        current = claimed
        for _ in range(_FINALIZE_ATTEMPTS):
            now = self._clock.now()
            rejected = current.evolve(
                status=ImageStatus.REJECTED,
                rejection_code=error.code.value,
                rejection_message=error.message,
                processing_until=None,
                cleanup_after=now + timedelta(hours=self._settings.rejected_retention_hours),
                updated_at=now,
            )
            try:
                self._repository.save(rejected, previous=current)
            except StaleImageError:
                latest = self._repository.get(claimed.id)
                if not _still_ours(latest, claimed):
                    return self._abandon(claimed, latest, ())
                assert latest is not None
                current = latest  # edited meanwhile: keep the edit
                continue
            self._store.delete_many(keys.object_keys(rejected))
            logger.info(
                "upload rejected", extra={"image_id": claimed.id, "reason": error.code.value}
            )
            return Completion(rejected, error)
        raise ConflictError("The image kept changing while it was processed; try again.")

    def _save_or_current(self, image: Image, previous: Image) -> Image:
        try:
            self._repository.save(image, previous=previous)
        except StaleImageError:
            return self._repository.get(image.id) or image
        return image


def _still_ours(latest: Image | None, claimed: Image) -> bool:
    return (
        latest is not None
        and latest.status is ImageStatus.PROCESSING
        and latest.processing_until == claimed.processing_until
    )


def _expired_error() -> DomainError:
    return UploadNotFoundError(
        "This upload has expired and will be removed; create a new upload.", field=("id",)
    )


def _rejection_error(image: Image) -> DomainError:
    return error_for_code(
        ErrorCode(image.rejection_code or ErrorCode.INVALID_IMAGE.value),
        image.rejection_message or "The upload was rejected.",
    )

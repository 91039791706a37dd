"""The upload lifecycle: reserve a slot, then validate and process what arrived.

One service for the entrypoints, made of two parts: services/upload_requests.py
(createImageUpload and its idempotency) and services/upload_processing.py
(completeImageUpload, S3 events, PENDING_UPLOAD -> PROCESSING -> READY | REJECTED).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from infra.settings import Settings
from services.models import Image
from services.ports import Clock, ImageProcessor, ImageRepository, ObjectStore
from services.upload_processing import EMPTY_UPLOAD_MESSAGE, Completion, UploadProcessing
from services.upload_requests import UploadRequests, UploadTicket

__all__ = ["EMPTY_UPLOAD_MESSAGE", "Completion", "UploadService", "UploadTicket"]


class UploadService:
    def __init__(
        self,
        *,
        repository: ImageRepository,
        store: ObjectStore,
        processor: Callable[[], ImageProcessor],
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.requests = UploadRequests(
            repository=repository, store=store, clock=clock, settings=settings
        )
        self.processing = UploadProcessing(
            repository=repository,
            store=store,
            processor=processor,
            clock=clock,
            settings=settings,
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
        return self.requests.create_upload(
            viewer_id,
            filename=filename,
            content_type=content_type,
            size_bytes=size_bytes,
            title=title,
            description=description,
            tags=tags,
            idempotency_key=idempotency_key,
        )

    def complete_upload(self, viewer_id: str, image_id: str) -> Completion:
        return self.processing.complete_upload(viewer_id, image_id)

    def process_staged_object(self, key: str) -> Completion | None:
        """An S3 ObjectCreated event for a staging key (at least once, in any order)."""
        return self.processing.process_staged_object(key)

    def process(self, image: Image) -> Completion:
        return self.processing.process(image)

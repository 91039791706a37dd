"""In-memory stand-ins for the ports, with the same conditional-write rules."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from infra.errors import (
    ImageAlreadyExistsError,
    ObjectNotFoundError,
    QuotaConditionError,
    StaleImageError,
)
from infra.quotas import QuotaCharge, QuotaUsage, pending_delta
from services.models import (
    IdempotencyRecord,
    Image,
    ImagePage,
    ImageQuery,
    ImageStatus,
    Position,
    PresignedPost,
    SortOrder,
    StoredObject,
)


class FakeRepository:
    """Images by id, versioned like the DynamoDB adapter (optimistic locking)."""

    def __init__(self) -> None:
        self.images: dict[str, Image] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.quotas: dict[str, QuotaUsage] = {}
        self._lock = threading.Lock()

    def get(self, image_id: str) -> Image | None:
        return self.images.get(image_id)

    def create(
        self,
        image: Image,
        *,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
        quota: QuotaCharge | None = None,
    ) -> None:
        with self._lock:
            if idempotency_key is not None:
                existing = self.idempotency.get((image.owner_id, idempotency_key))
                if existing is not None:
                    raise ImageAlreadyExistsError(existing.image_id)
            if image.id in self.images:
                raise ImageAlreadyExistsError()
            if quota is not None:
                self.quotas[image.owner_id] = _charged(self.quota_usage(image.owner_id), quota)
            if idempotency_key is not None:
                record = IdempotencyRecord(image.id, fingerprint)
                self.idempotency[(image.owner_id, idempotency_key)] = record
            self.images[image.id] = image

    def quota_usage(self, owner_id: str) -> QuotaUsage:
        return self.quotas.get(owner_id, QuotaUsage())

    def recount_pending(self, owner_id: str, *, observed: int, actual: int) -> bool:
        with self._lock:
            usage = self.quota_usage(owner_id)
            if usage.pending != observed:
                return False
            self.quotas[owner_id] = replace(usage, pending=actual)
            return True

    def _count(self, owner_id: str, delta: int) -> None:
        if delta:
            usage = self.quota_usage(owner_id)
            self.quotas[owner_id] = replace(usage, pending=usage.pending + delta)

    def find_by_idempotency_key(
        self, owner_id: str, idempotency_key: str
    ) -> IdempotencyRecord | None:
        return self.idempotency.get((owner_id, idempotency_key))

    def save(self, image: Image, *, previous: Image) -> None:
        with self._lock:
            current = self.images.get(image.id)
            if current is None or current.version != previous.version:
                raise StaleImageError(image.id)
            self.images[image.id] = image
            self._count(image.owner_id, pending_delta(previous.status, image.status))

    def delete(self, image: Image) -> None:
        with self._lock:
            current = self.images.get(image.id)
            if current is not None and current.version != image.version:
                raise StaleImageError(image.id)
            if self.images.pop(image.id, None) is not None:
                self._count(image.owner_id, pending_delta(image.status, None))

    def owner_count(self, owner_id: str, status: ImageStatus) -> int:
        """Recounted from the images: what the DynamoDB counters must always equal."""
        return sum(
            1
            for image in self.images.values()
            if image.owner_id == owner_id and image.status is status
        )

    def tag_counts(self, tags: Sequence[str]) -> dict[str, int]:
        ready = [image for image in self.images.values() if image.status is ImageStatus.READY]
        return {tag: sum(1 for image in ready if tag in image.tags) for tag in tags}

    def list_page(
        self, query: ImageQuery, *, limit: int, after: Position | None, backwards: bool
    ) -> ImagePage:
        # Only an owner's images in one status, oldest first (what the quota recount
        # reads); listing itself is tested against DynamoDB (moto).
        if query.owner_id is None or query.sort is not SortOrder.OLDEST_FIRST or backwards:
            return ImagePage((), False, None)
        found = sorted(
            (
                image
                for image in self.images.values()
                if image.owner_id == query.owner_id and image.status is query.status
            ),
            key=lambda image: (image.created_at, image.id),
        )
        if after is not None:
            start = (after.created_at, after.image_id)
            found = [image for image in found if (image.created_at, image.id) > start]
        page = tuple(found[:limit])
        last = None if not page else Position(page[-1].created_at, page[-1].id)
        return ImagePage(page, len(found) > limit, last)

    def due_for_cleanup(
        self,
        status: ImageStatus,
        due_before: datetime,
        *,
        limit: int,
        after: Image | None = None,
    ) -> list[Image]:
        due = [
            image
            for image in self.images.values()
            if image.status is status and image.cleanup_after and image.cleanup_after <= due_before
        ]
        ordered = sorted(due, key=lambda image: (image.cleanup_after, image.id))
        if after is not None:
            start = (after.cleanup_after, after.id)
            ordered = [image for image in ordered if (image.cleanup_after, image.id) > start]
        return ordered[:limit]


def _charged(usage: QuotaUsage, charge: QuotaCharge) -> QuotaUsage:
    """The usage after the charge, under the conditions infra/quotas.charge_write sends."""
    if usage.window_start != charge.window_start_seen:
        raise QuotaConditionError(charge.owner_id)
    if charge.max_pending is not None and usage.pending >= charge.max_pending:
        raise QuotaConditionError(charge.owner_id)
    if charge.rollover:
        return replace(
            usage,
            pending=usage.pending + 1,
            window_start=charge.at,
            window_uploads=1,
            window_bytes=charge.size_bytes,
            last_charge_at=charge.at,
        )
    if charge.max_uploads is not None and usage.window_uploads >= charge.max_uploads:
        raise QuotaConditionError(charge.owner_id)
    if charge.max_bytes is not None and usage.window_bytes + charge.size_bytes > charge.max_bytes:
        raise QuotaConditionError(charge.owner_id)
    return replace(
        usage,
        pending=usage.pending + 1,
        window_uploads=usage.window_uploads + 1,
        window_bytes=usage.window_bytes + charge.size_bytes,
        last_charge_at=charge.at,
    )


class FakeStore:
    """Objects in a dict; presigned URLs are plain strings."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def presign_post(
        self, key: str, *, content_type: str, max_size_bytes: int, expires_in: int
    ) -> PresignedPost:
        return PresignedPost(
            url="https://s3.example/bucket",
            fields={"key": key, "Content-Type": content_type},
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
            max_size_bytes=max_size_bytes,
        )

    def presign_get(self, key: str, *, expires_in: int) -> str:
        return f"https://s3.example/bucket/{key}?expires={expires_in}"

    def head(self, key: str) -> StoredObject | None:
        found = self.objects.get(key)
        return None if found is None else StoredObject(key, len(found[0]), found[1])

    def read(self, key: str, *, max_bytes: int) -> bytes:
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        return self.objects[key][0][:max_bytes]

    def write(self, key: str, data: bytes, *, content_type: str) -> None:
        self.objects[key] = (data, content_type)

    def delete_many(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)

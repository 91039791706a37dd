"""The small interfaces services need; infra/ implements them, tests may fake them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from infra.quotas import QuotaCharge, QuotaUsage
from services.models import (
    IdempotencyRecord,
    Image,
    ImagePage,
    ImageQuery,
    ImageStatus,
    Position,
    PresignedPost,
    ProcessedImage,
    StoredObject,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class ImageRepository(Protocol):
    def get(self, image_id: str) -> Image | None: ...

    def create(
        self,
        image: Image,
        *,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
        quota: QuotaCharge | None = None,
    ) -> None:
        """Store a new image (and its idempotency record with the request's fingerprint,
        and the quota charge, atomically).

        Raises ImageAlreadyExistsError(existing_image_id) when the viewer already
        used this idempotency key (whatever the quota), QuotaConditionError when the
        charge's condition failed.
        """
        ...

    def quota_usage(self, owner_id: str) -> QuotaUsage:
        """The owner's quota item, read consistently (all zero when there is none)."""
        ...

    def recount_pending(self, owner_id: str, *, observed: int, actual: int) -> bool:
        """Set the owner's pending count to `actual` if it still is `observed`."""
        ...

    def find_by_idempotency_key(
        self, owner_id: str, idempotency_key: str
    ) -> IdempotencyRecord | None: ...

    def save(self, image: Image, *, previous: Image) -> None:
        """Replace `previous` with `image` (whose version is previous.version + 1).

        Conditional on the stored version still being previous.version, else
        StaleImageError. Index and tag items follow the new state in the same
        atomic write, and so does the owner's pending-upload count
        (infra/quotas.py) when the image moves into or out of the counted statuses.
        """
        ...

    def delete(self, image: Image) -> None:
        """Remove the image item and every item derived from it (purge), and count a
        pending or processing image out of its owner's quota, atomically.

        Conditional on the stored version still being image.version, else
        StaleImageError. Deleting what is already gone is not an error.
        """
        ...

    def owner_count(self, owner_id: str, status: ImageStatus) -> int:
        """The owner's images in `status`, from a counter kept in the lifecycle's writes."""
        ...

    def tag_counts(self, tags: Sequence[str]) -> dict[str, int]:
        """READY images carrying each tag, from counters kept in the lifecycle's writes."""
        ...

    def list_page(
        self, query: ImageQuery, *, limit: int, after: Position | None, backwards: bool
    ) -> ImagePage:
        """Up to `limit` images of the query in its sort order, strictly after `after`.

        With backwards=True the walk is in the opposite order of query.sort (for
        `last`/`before`); images still come back in walk order. The page also says
        whether more exist and where the next page starts (past a bounded scan's
        last item read, which may lie beyond the last image returned).
        """
        ...

    def due_for_cleanup(
        self,
        status: ImageStatus,
        due_before: datetime,
        *,
        limit: int,
        after: Image | None = None,
    ) -> list[Image]:
        """Images in `status` whose cleanup_after is at or before `due_before`, soonest
        due first, starting past the index entry of `after` (an earlier result)."""
        ...


class ObjectStore(Protocol):
    def presign_post(
        self, key: str, *, content_type: str, max_size_bytes: int, expires_in: int
    ) -> PresignedPost: ...

    def presign_get(self, key: str, *, expires_in: int) -> str:
        """A GET URL valid at least `expires_in` seconds, signed locally (no request to S3).

        Within one signing window the same key gets the same URL (cacheable).
        """
        ...

    def head(self, key: str) -> StoredObject | None: ...

    def read(self, key: str, *, max_bytes: int) -> bytes:
        """The object's bytes; never more than max_bytes are read."""
        ...

    def write(self, key: str, data: bytes, *, content_type: str) -> None: ...

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete the keys; missing keys are not an error."""
        ...


class RenditionUrls(Protocol):
    def url_for(self, key: str) -> str:
        """A GET URL of a rendition (e.g. on a CDN), the same for a whole signing window."""
        ...


class ImageProcessor(Protocol):
    def process(self, data: bytes) -> ProcessedImage:
        """Validate, decode and render `data`.

        Raises UnsupportedMediaTypeError when the bytes are not an allowed format
        and InvalidImageError when they are damaged, truncated or too large in pixels.
        """
        ...

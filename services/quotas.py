"""Per-viewer upload quotas, enforced atomically across Lambda instances.

Three limits (infra/settings.py; 0 = unlimited):

  pendingUploads  images in PENDING_UPLOAD or PROCESSING at once
                  (PICGRAPH_QUOTA_PENDING_UPLOADS); freed when an upload is completed
                  (READY or REJECTED), deleted, or purged by the cleanup job once expired
  uploadsPerDay   createImageUpload calls per 24 h window (PICGRAPH_QUOTA_UPLOADS_PER_DAY)
  bytesPerDay     declared sizeBytes per 24 h window (PICGRAPH_QUOTA_BYTES_PER_DAY)

The window is 24 h from the first upload after the previous window ended (not a UTC
day): every viewer's quota then resets at its own instant, instead of everybody's
retries arriving at midnight UTC. Uploads and bytes count at create time, whether or
not the upload is ever completed (the slot and its URL were handed out).

The charge is one conditional write in the same TransactWriteItems as the image (and
its idempotency record), built from the usage read just before: a lost condition
means the usage changed (another create, a rollover), so it is read again and decided
again, a few times. An idempotent replay never gets here (it creates nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from infra import keys
from infra.quotas import COUNTED_STATUSES, QuotaCharge, QuotaUsage
from infra.settings import Settings
from services.errors import ConflictError, QuotaConditionError, QuotaExceededError
from services.models import Image, ImageQuery, ImageStatus, Position, SortOrder
from services.ports import Clock, ImageRepository

logger = logging.getLogger("picgraph.quotas")

WINDOW = timedelta(hours=24)
RECOUNT_SETTLE = timedelta(minutes=1)
"""A recount trusts the owner index (eventually consistent) only this long after the
last charge: an image created just before may not be listed yet."""
_ATTEMPTS = 6
_RECOUNT_PAGE = 100


@dataclass(frozen=True)
class QuotaLimits:
    """The limits; 0 means unlimited."""

    pending_uploads: int
    uploads_per_day: int
    bytes_per_day: int

    @classmethod
    def from_settings(cls, settings: Settings) -> QuotaLimits:
        return cls(
            pending_uploads=settings.quota_pending_uploads,
            uploads_per_day=settings.quota_uploads_per_day,
            bytes_per_day=settings.quota_bytes_per_day,
        )


class QuotaService:
    def __init__(self, *, repository: ImageRepository, clock: Clock, limits: QuotaLimits) -> None:
        self._repository = repository
        self._clock = clock
        self._limits = limits

    def create_within_quota(self, image: Image, create: Callable[[QuotaCharge], None]) -> None:
        """Run `create` with the quota charge for `image`; QuotaExceededError if over.

        `create` must write the image and the charge in one transaction, raising
        QuotaConditionError when the charge's condition failed.
        """
        for _ in range(_ATTEMPTS):
            usage = self._repository.quota_usage(image.owner_id)
            charge = self._charge(image, usage)
            try:
                create(charge)
            except QuotaConditionError:
                continue  # the usage changed since it was read: decide again
            return
        raise ConflictError("Too many uploads are being created at once; try again.")

    def _charge(self, image: Image, usage: QuotaUsage) -> QuotaCharge:
        now = self._clock.now()
        limits = self._limits
        live = usage.window_start is not None and usage.window_start + WINDOW > now
        resets_at = usage.window_start + WINDOW if live and usage.window_start else now + WINDOW
        uploads = usage.window_uploads if live else 0
        used_bytes = usage.window_bytes if live else 0
        if limits.pending_uploads and usage.pending >= limits.pending_uploads:
            self._refuse_pending(image.owner_id, usage, now)
        if limits.uploads_per_day and uploads >= limits.uploads_per_day:
            raise QuotaExceededError(
                f"You have created {uploads} uploads in the current 24-hour window, the most "
                f"allowed ({limits.uploads_per_day}); the quota resets at "
                f"{_iso(resets_at)}.",
                quota="uploadsPerDay",
                limit=limits.uploads_per_day,
                resets_at=resets_at,
            )
        if limits.bytes_per_day and used_bytes + image.declared_size > limits.bytes_per_day:
            raise QuotaExceededError(
                f"This upload ({image.declared_size} bytes) would go over your quota of "
                f"{limits.bytes_per_day} bytes per 24 hours ({used_bytes} used); the quota "
                f"resets at {_iso(resets_at)}.",
                quota="bytesPerDay",
                limit=limits.bytes_per_day,
                resets_at=resets_at,
            )
        return QuotaCharge(
            owner_id=image.owner_id,
            size_bytes=image.declared_size,
            at=now,
            window_start_seen=usage.window_start,
            rollover=not live,
            max_pending=limits.pending_uploads or None,
            released_seen=sum(usage.released),
            max_uploads=limits.uploads_per_day or None,
            max_bytes=limits.bytes_per_day or None,
        )

    def _refuse_pending(self, owner_id: str, usage: QuotaUsage, now: datetime) -> None:
        """Refuse at the pending limit, unless a recount shows the count had drifted.

        Every transition keeps the count exact in its own transaction; it drifts only
        when an item leaves without one (the DynamoDB TTL backstop on abandoned
        uploads, or images created before quotas existed). Returns (no error) when
        the recount freed a slot (a count found too low is raised, and refused); the
        caller's charge then re-checks atomically.
        """
        limit = self._limits.pending_uploads
        counted, soonest = self._count_pending(owner_id, limit)
        settled = usage.last_charge_at is None or now - usage.last_charge_at >= RECOUNT_SETTLE
        if (
            settled
            and counted != usage.pending
            and self._repository.recount_pending(owner_id, observed=usage.pending, actual=counted)
        ):
            logger.warning(
                "pending-upload count recounted",
                extra={"owner_id": owner_id, "stored": usage.pending, "counted": counted},
            )
            if counted < limit:
                return
        when = (
            ""
            if soonest is None
            else f"; the soonest expires at {_iso(soonest)} and is removed shortly after"
        )
        raise QuotaExceededError(
            f"You have {max(counted, usage.pending)} uploads that are not completed yet, the "
            f"most allowed at once ({limit}). Complete them or wait for pending uploads "
            f"to expire{when}.",
            quota="pendingUploads",
            limit=limit,
            resets_at=soonest,
        )

    def _count_pending(self, owner_id: str, limit: int) -> tuple[int, datetime | None]:
        """The owner's images in the counted statuses (up to limit + 1), and the soonest
        expiry among the pending ones (their cleanup_after; oldest created first)."""
        counted = 0
        soonest: datetime | None = None
        for status in sorted(COUNTED_STATUSES):
            query = ImageQuery(
                viewer_id=owner_id,
                owner_id=owner_id,
                status=ImageStatus(status),
                sort=SortOrder.OLDEST_FIRST,
            )
            after: Position | None = None
            while counted <= limit:
                page = self._repository.list_page(
                    query, limit=_RECOUNT_PAGE, after=after, backwards=False
                )
                counted += len(page.images)
                for found in page.images:
                    expiry = found.cleanup_after
                    if expiry is not None and (soonest is None or expiry < soonest):
                        soonest = expiry
                if not page.has_more or page.resume_after is None:
                    break
                after = page.resume_after
        return counted, soonest


def _iso(moment: datetime) -> str:
    """ISO 8601 UTC to the second, e.g. 2026-03-15T09:26:53Z."""
    return keys.format_instant(moment)[:19] + "Z"

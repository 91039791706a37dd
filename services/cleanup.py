"""The cleanup job: purge what nobody may see any more (scheduled, and `picgraph cleanup`).

Four kinds of work, each found only through the cleanup index (GSI3, a Query per
status sorted by due time, never a Scan; see infra/keys.py):

  DELETED         soft-deleted images past their retention: original, every rendition,
                  staging object, the item and its tag items
  PENDING_UPLOAD  abandoned uploads past cleanup_after (created + PENDING_UPLOAD_HOURS,
                  far beyond the upload URL's lifetime): staging object and item
  REJECTED        rejected uploads past cleanup_after: staging object (if any) and item
  PROCESSING      runs that died, due when their lease expired: back to PENDING_UPLOAD
                  (one conditional write, no S3 call) while the abandoned-upload window
                  (cleanup_after) lasts, so the owner can complete again; purged like an
                  abandoned upload once it is over

The S3 keys removed are always keys.object_keys(image): every key the image may own,
also those a crashed processing run wrote before it could record them. READY images are
never in the cleanup index, so they are never purged.

Per image the order is fixed, for crash safety and for concurrent runs:

  1. a consistent read of the item: the index is eventually consistent and may still
     list an image that was restored, claimed for processing or already purged;
  2. delete its S3 objects (idempotent: deleting a missing key is not an error);
  3. delete the item and its tag items, conditional on the version read in 1.

A run interrupted between 2 and 3 leaves the item in the index, so the next run finds
it again and finishes. Two runs at once both delete the same keys (harmless) and the
second conditional delete finds nothing to delete. A lost condition (StaleImageError:
the image changed since it was read) skips the image and counts it.

A run works in batches of `batch_size` within `time_budget_seconds` (below the Lambda
timeout), then stops. Within a run each status is read forwards from the last index
entry handled, so an image skipped or failed is not read again until the next run;
purged images leave the index, so the next run simply continues where this one
stopped. Images are purged only when due `grace` ago (default five minutes): restore is
allowed until `cleanup_after`, so clocks a little apart on two Lambda instances (far
less than the grace) never let a restore and a purge overlap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from infra import keys
from infra.errors import ObjectDeleteError
from services.errors import StaleImageError
from services.models import Image, ImageStatus
from services.ports import Clock, ImageRepository, ObjectStore

logger = logging.getLogger("picgraph.cleanup")

DEFAULT_GRACE = timedelta(minutes=5)
"""How long after cleanup_after an image is purged (separates purge from a late restore)."""

DEFAULT_BATCH_SIZE = 25
"""Index entries one Query (per shard) returns, and images handled between two reads."""

STATUS_ORDER = (
    ImageStatus.DELETED,
    ImageStatus.REJECTED,
    ImageStatus.PENDING_UPLOAD,
    ImageStatus.PROCESSING,
)


@dataclass
class CleanupReport:
    """What one run did (or, with dry_run, would have done).

    objects_deleted counts the S3 keys whose deletion was requested (S3 does not say
    which of them existed). remaining is True when the run stopped on its time budget
    (or its per-run window) before it saw the end of the due work: the next run
    continues. failed counts images whose S3 objects could not all be deleted; they stay
    due and are retried by the next run. With two runs at once both may count the same
    image. released_processing counts PROCESSING images whose processor died, returned
    to PENDING_UPLOAD; purged_processing those purged because the abandoned-upload
    window was over too.
    """

    purged_deleted: int = 0
    purged_pending: int = 0
    purged_rejected: int = 0
    purged_processing: int = 0
    released_processing: int = 0
    objects_deleted: int = 0
    skipped_conflicts: int = 0
    failed: int = 0
    remaining: bool = False
    dry_run: bool = False

    @property
    def purged(self) -> int:
        return (
            self.purged_deleted
            + self.purged_pending
            + self.purged_rejected
            + self.purged_processing
        )

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)

    def count_purged(self, status: ImageStatus) -> None:
        if status is ImageStatus.DELETED:
            self.purged_deleted += 1
        elif status is ImageStatus.PENDING_UPLOAD:
            self.purged_pending += 1
        elif status is ImageStatus.PROCESSING:
            self.purged_processing += 1
        else:
            self.purged_rejected += 1


class CleanupService:
    def __init__(
        self,
        *,
        repository: ImageRepository,
        store: ObjectStore,
        clock: Clock,
        batch_size: int = DEFAULT_BATCH_SIZE,
        time_budget_seconds: float = 50.0,
        grace: timedelta = DEFAULT_GRACE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._repository = repository
        self._store = store
        self._clock = clock
        self._batch_size = batch_size
        self._budget = time_budget_seconds
        self._grace = grace
        self._monotonic = monotonic

    def run(
        self, *, dry_run: bool = False, time_budget_seconds: float | None = None
    ) -> CleanupReport:
        """Purge due images, one batch per kind in turn, until done or out of time.

        `time_budget_seconds` overrides the configured budget for this run (e.g. from
        the Lambda context's remaining time).
        """
        started = self._monotonic()
        budget = self._budget if time_budget_seconds is None else time_budget_seconds
        run = _Run(
            report=CleanupReport(dry_run=dry_run),
            due_before=self._clock.now() - self._grace,
            deadline=started + budget,
        )
        active = list(STATUS_ORDER)  # round robin: a backlog of one kind starves no other
        try:
            while active and not run.out_of_time:
                for status in list(active):
                    if not self._batch(run, status):
                        active.remove(status)
                    if run.out_of_time:
                        break
        except Exception:
            logger.exception("cleanup aborted", extra={**run.report.as_dict(), **run.timing()})
            raise
        logger.info("cleanup finished", extra={**run.report.as_dict(), **run.timing()})
        return run.report

    def _batch(self, run: _Run, status: ImageStatus) -> bool:
        """Handle one batch of `status`; False when this run has nothing more of it to do."""
        if self._out_of_time(run):
            return False
        batch = self._repository.due_for_cleanup(
            status, run.due_before, limit=self._batch_size, after=run.reached.get(status)
        )
        for candidate in batch:
            if self._out_of_time(run):
                return False
            run.reached[status] = candidate  # the index entry, as read: where to resume
            self._purge_one(candidate, status, run.due_before, run.report)
        return len(batch) == self._batch_size  # a short page: nothing more is due

    def _out_of_time(self, run: _Run) -> bool:
        if self._monotonic() >= run.deadline:
            run.out_of_time = True
            run.report.remaining = True
        return run.out_of_time

    def _purge_one(
        self, candidate: Image, status: ImageStatus, due_before: datetime, report: CleanupReport
    ) -> None:
        """Purge one image, or count why it stays (skipped, failed, dry run)."""
        image = self._repository.get(candidate.id)
        if image is None:
            return  # purged meanwhile (another run, or the pending-upload TTL)
        if not _due(image, status, due_before):
            # Restored, claimed for processing, or changed otherwise since the index
            # was read: not ours to purge any more.
            report.skipped_conflicts += 1
            return
        if status is ImageStatus.PROCESSING and not _due_for_purge(image, due_before):
            self._release(image, report)
            return
        owned = keys.object_keys(image)
        if report.dry_run:
            report.count_purged(status)
            report.objects_deleted += len(owned)
            return
        try:
            self._store.delete_many(owned)  # first: an interruption leaves the item to retry
        except ObjectDeleteError as exc:
            report.failed += 1
            logger.warning(
                "cleanup could not delete objects",
                extra={"image_id": image.id, "keys": exc.keys},
            )
            return
        report.objects_deleted += len(owned)
        try:
            self._repository.delete(image)
        except StaleImageError:
            report.skipped_conflicts += 1
            return
        report.count_purged(status)

    def _release(self, image: Image, report: CleanupReport) -> None:
        """A dead run's image back to PENDING_UPLOAD, so that its owner can complete again.

        One conditional write and no S3 call: the owner may be completing (taking over
        the expired lease) at this very moment, and what the dead run wrote is removed
        by whichever run ends the image's processing (keys.object_keys), or by the purge.
        """
        if report.dry_run:
            report.released_processing += 1
            return
        released = image.evolve(
            status=ImageStatus.PENDING_UPLOAD, processing_until=None, updated_at=self._clock.now()
        )
        try:
            self._repository.save(released, previous=image)
        except StaleImageError:
            report.skipped_conflicts += 1
            return
        report.released_processing += 1
        logger.info("released a dead processing run", extra={"image_id": image.id})


@dataclass
class _Run:
    """The state of one run."""

    report: CleanupReport
    due_before: datetime
    deadline: float
    started: float = field(default_factory=time.monotonic)
    out_of_time: bool = False
    # Per status, the last index entry handled: each Query resumes past it, so an image
    # is handled at most once per run (skipped and failed ones wait for the next run).
    reached: dict[ImageStatus, Image] = field(default_factory=dict)

    def timing(self) -> dict[str, float]:
        return {"duration_ms": round((time.monotonic() - self.started) * 1000, 1)}


def _due(image: Image, status: ImageStatus, due_before: datetime) -> bool:
    due_at = image.cleanup_due_at
    return image.status is status and due_at is not None and due_at <= due_before


def _due_for_purge(image: Image, due_before: datetime) -> bool:
    """Past its cleanup_after (for PROCESSING: the abandoned-upload window is over too)."""
    return image.cleanup_after is None or image.cleanup_after <= due_before
